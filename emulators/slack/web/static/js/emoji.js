// The emoji shortcodes an app is likely to use, as Unicode; unknown ones stay as `:name:`.
const EMOJI = {
  white_check_mark: "✅", heavy_check_mark: "✔️", x: "❌", warning: "⚠️", stopwatch: "⏱️",
  hourglass_flowing_sand: "⏳", hourglass: "⌛", eyes: "👀", thinking_face: "🤔", tada: "🎉",
  rocket: "🚀", memo: "📝", page_facing_up: "📄", paperclip: "📎", calendar: "📅",
  spiral_calendar_pad: "🗓️", alarm_clock: "⏰", email: "📧", envelope: "✉️", link: "🔗",
  mag: "🔍", bulb: "💡", gear: "⚙️", lock: "🔒", no_entry: "⛔", no_entry_sign: "🚫",
  arrows_counterclockwise: "🔄", repeat: "🔁", robot_face: "🤖", wave: "👋", "+1": "👍",
  thumbsup: "👍", "-1": "👎", thumbsdown: "👎", heart: "❤️", fire: "🔥", star: "⭐",
  speech_balloon: "💬", inbox_tray: "📥", outbox_tray: "📤", information_source: "ℹ️",
  question: "❓", exclamation: "❗", red_circle: "🔴", large_green_circle: "🟢",
  large_yellow_circle: "🟡", clipboard: "📋", card_index_dividers: "🗂️", books: "📚",
  money_with_wings: "💸", moneybag: "💰", chart_with_upwards_trend: "📈", bar_chart: "📊",
  zzz: "💤", sparkles: "✨", construction: "🚧", satellite: "📡", hammer_and_wrench: "🛠️",
};

export function emoji(name) {
  return EMOJI[name] || `:${name}:`;
}
