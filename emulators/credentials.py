"""The made-up credentials the emulators accept unless told otherwise.

One place for them: the emulators' defaults, the tests, the benchmark and the sandbox all read
these names, so a bot pointed at the emulators authenticates without anyone copying a string.
"""

from __future__ import annotations

HANDINGER_KEY = "test-key"
"""The Handinger emulator's API key (`--api-key`)."""
BOT_TOKEN = "xoxb-test"
"""The bot token of the Slack emulator's first workspace (`--bot-token`)."""
APP_TOKEN = "xapp-test"
"""The app-level token for Socket Mode (`--app-token`)."""
SIGNING_SECRET = "test-secret"
"""What the Slack emulator signs HTTP deliveries with (`--signing-secret`)."""
CLIENT_ID = "1000000001.2000000001"
CLIENT_SECRET = "emulator-client-secret"
"""The app's OAuth client (`--client-id`, `--client-secret`)."""
TEAM = "T0001"
"""The Slack emulator's first workspace, where the app is installed from the start."""
