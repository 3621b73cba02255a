"""Slack emulator: a real local Slack for end-to-end tests, benchmarks and the sandbox.

Run it as `python -m emulators.slack [--host H] [--port 0]`. The first line it prints is
`listening on http://HOST:PORT`. The Web API lives under `/api/`, so slack_sdk clients work
with `base_url="http://HOST:PORT/api/"`. It was written from `reference/slack-platform.md`, not
from the bot's code, so that it can serve as the reference the bot is tested against.
`README-section.md` has the same contract in Markdown.

Flags (defaults in brackets)
    --host [127.0.0.1]  --port [0 = a free port]
    --bot-token [xoxb-test]  --app-token [xapp-test]  --signing-secret [test-secret]
    --request-url URL   deliver by signed HTTP POST to URL; without it, Socket Mode
    --rate-limits [strict]|off
    --time-scale [1]    emulated seconds per real second
    --ack-timeout [3]   real seconds the app has to ack
    --long-text [truncate]|reject   text over 40,000 chars: truncate with the warning
                        `message_truncated`, or reject with `msg_too_long`
    --bot-events [on]|off   whether the app's own posts, edits and deletions come back
                        as events (they do on Slack)
    --client-id [1000000001.2000000001]  --client-secret [emulator-client-secret]
    --redirect-url URL  an OAuth Redirect URL of the app (repeatable)
    --manifest [auto]|PATH|none   the app's manifest.yml: the bot scopes an install grants and
                        the bot events delivered (`auto`: the repository's manifest.yml;
                        `none`: every scope granted, every event delivered); its slash
                        commands are the sandbox page's composer hints
    --handinger-url URL the Handinger emulator shown in the sandbox page's Handinger panel
                        (the page itself, at /sandbox/, is described in the `web` package)

Default workspace
    T0001 "Emulator" (domain `emulator`), app A0001, verification token
    `emulator-verification-token`.
    The app is installed with the manifest's bot scopes (single-workspace mode).
    Users: U0001 alice (admin) and U0002 bob.
    Bot user: U0BOT with bot_id B0001; a mention of it in text is `<@U0BOT>`.
    Channels:
      C0001 #general  public: U0001, U0002 and the bot
      C0002 #random   public, without the bot (`not_in_channel`)
      G0001 #private  private: U0001 and the bot
      D0001           DM between U0001 and the bot
    `chat.postMessage(channel=U…)` posts to (and creates) the bot's DM with that user.

Web API
    Parameters are accepted as JSON, form or query string, with GET or POST. An extra `team_id`
    is ignored.
    Methods: auth.test; apps.connections.open (app token only); chat.postMessage, update,
    delete, postEphemeral, getPermalink; chat.startStream, appendStream, stopStream;
    assistant.threads.setStatus, setSuggestedPrompts and setTitle (and the assistant pane's
    events, App Home and stream expiry: module `assistant`); reactions.add and remove;
    conversations.info, join, members, replies, history and open; users.info;
    files.getUploadURLExternal, the upload URL and files.completeUploadExternal; files.info
    (`files:read`) and `url_private` (the bot token of the file's workspace with `files:read`,
    else 403; each download is logged as the call `url_private` with `{file, authorized}`);
    views.open, push, update and publish; oauth.v2.access (no token: the client id and secret,
    see below).
    Errors:
      tokens: not_authed, invalid_auth, not_allowed_token_type, token_revoked (after an
        uninstall)
      unknown_method
      scopes: missing_scope with `needed` (the scopes the method accepts, comma-separated) and
        `provided` (those granted), when the workspace granted none of them (`app_config`)
      channels: channel_not_found, not_in_channel (public channel without the bot);
        is_archived from chat.postMessage, chat.postEphemeral, conversations.join and
        reactions.add in an archived channel, is_inactive from chat.update
      messages: message_not_found, cant_update_message, cant_delete_message, no_text,
        streaming_state_conflict, message_not_in_streaming_state
      length and blocks: msg_too_long (see --long-text; `markdown_text` over 12,000 chars),
        msg_blocks_too_many (over 50 blocks), msg_blocks_too_long (all blocks together over
        13,300 characters, see `validate.MAX_BLOCKS_LENGTH`), invalid_blocks with an `errors`
        array of JSON pointers for Block Kit's limits (`blockkit`: text objects, section text
        and fields, headers, markdown blocks over 12,000 chars in total, button text, action_id,
        value and url, overflow menus of 2 to 5 options, context blocks of at most 10 images
        and texts, images without alt_text, duplicate block_ids, unknown block types)
      markdown_text_conflict, user_not_in_channel, already_reacted, no_reaction, invalid_name
        (a reaction that is not a standard emoji short name)
      files: the upload URL answers 400 when the bytes sent differ from the declared `length`;
        files.completeUploadExternal answers file_not_found for a file never uploaded or
        already completed
      views: invalid_trigger_id, expired_trigger_id, exchanged_trigger_id, view_too_large,
        invalid_arguments with `[ERROR] … [json-pointer:/view/…]` messages (title, submit and
        close over 24 chars, labels and hints over 2,000, an initial_option that is not one of
        the options, an initial_value over max_length, and the blocks' own limits)
    Message metadata ({event_type, event_payload}) is stored by chat.postMessage/update and
    returned by them; conversations.history and replies return it only with
    `include_all_metadata=true` (Slack returns just the event types an app subscribed to in
    `metadata_subscriptions`, and the app subscribes to none).

Rate limits
    Per method and workspace (and per channel for the special ones). Tiers are rolling windows,
    N calls in any minute, in bursts as large as N (no refill on top of a burst):
      Tier 2: 20   Tier 3: 50 (chat.update)   Tier 4: 100
    The special limits are token buckets, per minute / burst:
      chat.postMessage: 60/3 per channel, plus 300/60 per workspace
      assistant.threads.setStatus: 60/3 per channel
      auth.test: 600/100
    The full table is in `limits.DEFAULT_LIMITS`. A refused call gets HTTP 429, an integer
    `Retry-After` (real seconds, at least 1) and `{"ok": false, "error": "ratelimited"}`.
    Time scale: rate-limit windows, event retry delays (0 s, 1 min, 5 min), the 30-minute
    response_url lifetime and the disconnect grace period run on emulated time. Ack deadlines,
    trigger ids and `ts` values stay in real time.

Delivery
    Socket Mode:
      `apps.connections.open` returns a single-use ws:// URL.
      The socket sends `hello`, then events_api, slash_commands and interactive envelopes, one
      open connection per envelope, at most 10 connections.
      The app acks with `{"envelope_id"[, "payload"]}`. PINGs are answered with PONGs.
    HTTP mode:
      Requests are signed with X-Slack-Signature and X-Slack-Request-Timestamp.
      Events are sent as JSON, slash commands as a form, interactions as `payload=`.
    Retries: events not acked in time are redelivered up to 3 times (`retry_attempt` and
    `retry_reason`, or the X-Slack-Retry-Num and X-Slack-Retry-Reason headers). Commands and
    clicks are never retried.
    Response URLs are `/_emulator/response/{id}`: 5 uses in 30 emulated minutes.

Events, each inside an event_callback with `event_id` and `authorizations`
    A user message gives `message` with `channel_type` channel, group, im or mpim, plus
    `thread_ts` and `parent_user_id` in threads.
    `<@BOT>` outside a DM adds `app_mention`.
    The bot's own posts give `message` with `bot_id`, `app_id` and `bot_profile`; uploads have
    subtype `file_share`.
    Edits give `message_changed`; deletions give `message_deleted`.
    Nothing is sent for conversations the bot is not in, and only the events the manifest
    subscribes to (`message.channels`, `message.groups`, `message.im`, `message.mpim` by
    conversation type, `app_mention`, `app_uninstalled`, `tokens_revoked`, ...), with their
    scopes granted, are sent.

OAuth install and uninstall (module `oauth`)
    GET /oauth/v2/authorize?client_id&scope&state[&redirect_uri][&team][&user][&decision=deny]
        approves at once (no consent screen) and redirects (302) to the redirect URL with
        `code` and `state`; `team` picks the workspace (default T0001).
    oauth.v2.access exchanges the code once (HTTP Basic or client_id/client_secret), installs
        the app there and answers with the bot token, `team`, `scope`, `bot_user_id`, ...
    A workspace made with `installed: false` has no working bot token, gets no events and
    refuses slash commands and clicks (409 `app_not_installed`) until it is installed.

Control API (JSON; errors are 4xx `{"ok": false, "error"}`)
    POST /_emulator/slash      {channel, user, text, command?="/handinger", team?, repeat?=1}
                               -> {ok, acked, ack_ms, status, error, response, response_url,
                               trigger_id[, replays]}; `repeat` delivers the same payload again
                               (a replay), `replays` has the ack of each extra delivery
    POST /_emulator/messages   {channel, user, text, thread_ts?, team?, wait?, timeout?,
                               files?: [{name, text|base64, mimetype?, title?,
                               url_private?}]} -> {ok, ts, channel, thread_ts, event_ids
                               [, acked, files]}; with files, a `file_share` message
                               (`user_files`)
    POST /_emulator/shortcuts  {channel, message_ts, user, callback_id, team?}: a message
                               shortcut the manifest declares -> `message_action`
                               (`shortcuts`) -> {ok, acked, ..., response_url, trigger_id}
    POST /_emulator/actions    {channel, message_ts, action_id, user, value?, team?, repeat?=1}
                               (value: what was chosen; a list of values for checkboxes and
                               multi-selects; unix seconds for a datetimepicker)
                               -> {ok, acked, ack_ms, status, error, response_url, action
                               [, replays]}
    GET  /_emulator/channels/{channel}/messages  ?team=&include_deleted=
         Each message: ts, user, bot_id, author, text, blocks, attachments, thread_ts,
         subtype, metadata, deleted, edited, files, reactions, edits, stream (streamed
         messages only), assistant_status, reply_count, replies (nested).
         files: {id, name, title, mimetype, filetype, size, alt_txt, url_private,
         download_url}. reactions: {name, users, count}. edits: [{time, ts, text, blocks,
         source}], where edits[0] is the original.
    GET  /_emulator/calls      ?method=&team=&status=&since=
                               -> {seq, time, method, http_verb, team, args (tokens
                               redacted), ok, error, status}
    GET  /_emulator/ephemeral  ?channel=&user=&team=&source=&since=
    GET  /_emulator/acks       ?type=&team=&event_type=&since=   one entry per attempt
    GET  /_emulator/connections ?min=&timeout=
    GET|POST /_emulator/rate-limits  {mode?, time_scale?, overrides?: {method: {per_minute,
                               burst, scope}}, refill?}
    POST /_emulator/disconnect {reason?="refresh_requested", drop?: true|"close"|"reset",
                               grace?=10}
    POST /_emulator/reset      back to the startup state; sockets stay open
    GET|POST /_emulator/config {request_url?, signing_secret?, ack_timeout?, long_text?,
                               bot_events?, retry_delays?, redirect_urls?, history?}:
                               `history: limited` puts conversations.replies and .history
                               at Tier 1 with at most 15 messages a call (non-Marketplace
                               commercial apps); `internal` (default) at Tier 3
    GET|POST|DELETE /_emulator/faults  {method, status?, error?, retry_after?, count?, team?,
                               after?, match?, action?="respond"|"hold"|"close", performed?}:
                               see `faults.py`; `method` may also be `upload` (the upload URL)
                               or `response_url`; with `performed: true` a Web API call takes
                               effect first (Slack acted, then failed). GET -> {faults, held,
                               held_total}
    GET|POST|DELETE /_emulator/holds   {method, count?=1, team?}: a `hold` fault on its own;
                               GET -> {rules, held: [{id, method, team, since}]}
    POST /_emulator/release    {count?} -> {ok, released}: answer held calls, oldest first
    GET|POST /_emulator/workspaces  {id?, name?, domain?, bot_token?, installed?=true}; the
                               bot token defaults to `<bot-token>-<team>`
    POST /_emulator/uninstall  {team?="T0001", wait?, timeout?}: revoke the bot token, then
                               send `tokens_revoked` and `app_uninstalled` -> {ok, event_ids}
    POST /_emulator/channels   {name?, type?, members?, bot_member?=true, team?, id?}
    POST /_emulator/users      {name?, real_name?, is_admin?, channels?, team?, id?}
    POST /_emulator/members    {channel, user|"bot", leave?, team?}
    POST /_emulator/channels/{channel}/archive   {team?}: archive a channel (see the errors
                               above; user messages and slash commands there answer 400
                               is_archived); `/unarchive` brings it back
    POST /_emulator/scopes     {scopes, team?}: the bot scopes the workspace granted
    POST /_emulator/url-verification
    GET  /_emulator/views
    GET  /_emulator/files/{id}
    POST /_emulator/response/{id}
"""
