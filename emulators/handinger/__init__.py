"""Local emulator of the Handinger workers API (SDK 0.1.x–0.3.0 era), for tests and the sandbox.

It is written from `reference/` alone and never imports `bot.handinger`, so a mistake in our
client is not mirrored here. The official SDK `handinger==0.3.0` in strict mode accepts every
JSON response it sends (except a failed turn's `error` object, see below).

Run
---
``python -m emulators.handinger [--host 127.0.0.1] [--port 8787] [--api-key test-key]
[--stream-format worker|ai-sdk|responses] [--done-sentinel] [--turn-seconds 1.0] [--chunks 40]
[--time-scale 1.0] [--blocking] [--idle-stream replay|204]``

``--port 0`` picks a free port. Once bound, the first stdout line is exactly
``listening on http://HOST:PORT``. Nothing else is logged (no access log).

API (``Authorization: Bearer <api-key>`` required on ``/api/*``, else 401)
-----------------------------------------------------------------------------
Every error is JSON ``{"error": "human readable"}``; unknown routes are 404, wrong methods 405.

- ``POST /api/workers {input, budget?, stream?}``: create a worker and start turn 1. Header
  ``X-Worker-Id``. Returns the Worker at once (``status:"running"``), or after the turn with
  ``--blocking``; with ``stream:true`` the SSE of this turn only (first event carries the id).
- ``GET /api/workers/{id}``: the Worker; ``?stream=true`` or ``Accept: text/event-stream`` gives
  the same SSE as ``/stream``.
- ``POST /api/workers/{id} {input, budget?, stream?}``: continue (a new turn). 404 unknown
  worker; 409 ``{"error": "Worker is busy with another turn"}`` while a turn runs.
- Both POSTs honour an ``Idempotency-Key`` header (Stripe's rules, see ``idempotency.py``): the
  same key with the same body within 24 emulated hours acts no more and answers with the same
  worker, or that same turn's stream from its start, with ``Idempotent-Replayed: true`` (also
  while the first response is still streaming or held); the same key with another body is 422;
  failed requests (400, 404, 409) are not remembered.
- ``GET /api/workers/{id}/stream``: SSE. Replays every stored UI message
  (``{"id","role","parts"}``, one ``data:`` each: user messages, including the live turn's, and
  assistant messages of finished turns), then the live turn's chunks from its start (buffered),
  then live ones, then closes. ``worker`` format: one current Worker snapshot replaces the replay
  and the buffered chunks (snapshots are cumulative). No live turn: replay and close, or 204
  with ``--idle-stream 204``.
- ``GET /api/workers/{id}/email``: a JSON string ``"w-<last 12 id chars>@inbound.handinger.test"``.
- ``GET /api/workers/{id}/files/{path}``: the bytes, with the file's exact ``Content-Type`` and
  ``Content-Length``. Nested paths work literally and ``%2F``-encoded (read from the raw path).
- ``GET|POST /api/workers/{id}/schedules``, ``DELETE .../schedules/{sid}`` →
  ``{"schedules": [...], "workerId"}`` / WorkerSchedule / ``{"cancelled": bool}`` (false when
  unknown or already fired; 404 only for an unknown worker).

Validation: 400 for a body that is not a JSON object, ``input`` missing/not a string/blank,
``stream`` not a boolean, ``when`` missing or not an object. 422 for an unknown ``budget``, an
unknown ``when.type``, a missing or unparsable ISO-8601 ``date`` (naive = UTC),
``delayInSeconds``/``intervalSeconds`` not an integer in 1..31536000 (bools and floats rejected),
and a cron that is not 5 fields or that croniter rejects. Unknown extra fields are ignored.

Worker
------
``id`` ``t_org_emu_w_<ULID>``, ``object:"worker"``, ``created_at`` (int unix seconds, real time),
``status`` ``running|completed`` (never ``pending``), ``running``, ``output`` (one assistant
message item with the latest turn's text; ``[]`` while it has no text), ``output_text`` (latest
turn; while running, the text so far), ``sources`` and ``files`` (accumulated over turns; a
re-published path keeps one entry), ``messages`` (stored UI messages; the running turn's
assistant message appears only when it ends), ``metadata {}``, ``error`` (null, or
``{"message"}`` after a failed turn: the SDK's strict model only allows null),
``incomplete_details`` null, ``usage`` and ``costs`` of the latest finished turn (not
cumulative), omitted until one finished. File entries: ``{"filename": <full path, e.g.
reports/q3/summary.md>, "mediaType", "url"}``, ``url`` absolute:
``http://HOST:PORT/api/workers/{id}/files/{literal path}``.

Scripted agent and directives
-----------------------------
Deterministic per (instruction without directives, turn number): a markdown answer with a
heading, paragraphs, a bullet list and a link, streamed as ``--chunks`` deltas (cut mid-word)
over ``--turn-seconds`` (real seconds, not scaled), after 2 tool steps (webSearch, readPage);
then 2 ``https://example.org/...`` sources and any files. Directives, ``[[name]]`` or
``[[name=value]]``, are stripped from what the agent sees but kept in the stored user message;
bad values fall back to defaults:
``slow`` (8 × turn-seconds), ``duration=S``, ``chunks=N``, ``fail`` (stops after half the text:
error event, ``error`` set, partial ``output_text``, ``status`` completed), ``long`` (> 45,000
chars), ``chars=N``, ``files=N`` (``reports/q3/summary.md``, ``chart.png`` (real PNG),
``notes-3.txt``, ...), ``file=path/name.ext`` (repeatable), ``version=K`` (changes the bytes of
this turn's files; otherwise bytes depend only on the path), ``filesize=BYTES`` (``big.bin``,
streamed), ``foreign-file`` (``foreign.txt`` at ``http://localhost:PORT/_foreign/{id}/foreign.txt``
— other origin, same server, no auth, logged), ``relative-files`` (this turn's URLs are
``/api/workers/{id}/files/{path}``), ``nosources``, ``steps=N``, ``echo`` or ``echo=N`` (the
answer is the instruction itself, as typed, with the directives and the blanks before them
removed, repeated N times: hostile text on demand; at most 10,000,000 chars).

Streams (``data: <json>`` frames only; no ``event:``/``id:``/``retry:``; ``[DONE]`` last only
with ``--done-sentinel``, in every format)
-------------------------------------------------------------------------------------------
- ``ai-sdk`` (header ``x-vercel-ai-ui-message-stream: v1``): ``start {messageId,
  messageMetadata:{workerId}}``, per tool step ``start-step``, ``tool-input-available``,
  ``tool-output-available``, ``finish-step``; then ``start-step``, ``text-start``,
  ``text-delta``…, ``text-end``, ``source-url``…, ``file {url, mediaType}``…, ``finish-step``,
  ``finish {finishReason:"stop", messageMetadata:{workerId, usage}}``; on failure the stream
  ends with ``error {errorText}`` instead.
- ``worker``: Worker snapshots at start, each tool call, text delta, source and file, and a
  final one equal to ``GET /api/workers/{id}`` (status completed).
- ``responses``: ``response.created {response:{id:<workerId>, status:"in_progress"}}``,
  ``response.output_item.added``/``.done`` (``item.type:"function_call"``),
  ``response.output_text.delta``, ``response.output_text.done {text}``,
  ``response.output_text.annotation.added`` (url_citation), then ``response.completed
  {response:{id, status, output_text, usage}}`` (Handinger usage keys) or ``response.failed
  {response:{id, status:"failed", error:{message}, output_text}}``. Files are not announced.

Schedules
---------
Emulated clock: ``now = t0 + real_elapsed × time-scale + advanced``. One background task sleeps
until the earliest due schedule and is woken by schedule, clock and config changes. A firing
sends ``input`` with ``budget`` to the same worker as a new turn. If that worker is busy, the
schedule waits and fires right after the running turn ends (one at a time, earliest first).
``scheduled``/``delayed`` disappear after firing; ``interval`` moves to fire time + interval;
``cron`` (5 fields, UTC) to its next occurrence after the fire time. However far the clock
jumps, a schedule fires once per jump (no catch-up bursts).

Control API (``/_emulator/``, no auth, JSON; not logged)
-------------------------------------------------------
- ``POST faults {status=503, count=1, retry_after=null, method=null, path=<regex searched in
  the decoded path>|null, error, action="respond"|"close"|"redirect"|"hold", location,
  after=0}`` → ``{"ok": true}``. The first ``after`` matching non-control requests go through;
  the next ``count`` get that error (``Retry-After`` if given), or, with ``close``, the body is
  read and the connection closed with no response, or, with ``redirect``, a 302 to
  ``location``; either way the request has no effect. ``hold`` is the opposite: the request is
  performed (the worker is created, the turn starts and plays on) but its response — for SSE,
  the headers and every frame — waits until released. It makes a client's crash window
  deterministic: kill the client while ``GET held`` lists the request, and the server has
  acted without the client knowing.
- ``GET held`` → ``[{id, method, path, since}]``: requests performed whose responses are held,
  oldest first. ``POST release {count?}`` → ``{"released": n}``: sends them (all, or the oldest
  ``count``); a client that went away meanwhile just gets nothing.
- ``POST stream-faults {cut_after: N, count=1}`` (closed abruptly after N ``data:`` frames, no
  chunked terminator), ``{stall_after: N, stall_seconds: S, count=1}`` (silent for S seconds
  after N frames; the turn continues) or ``{inject_after: N, inject: "raw text", count=1}``
  (the raw text written once after N frames: malformed SSE; lone surrogates become raw bytes).
  Applies to the next ``count`` SSE responses, after leaving ``after`` (default 0) alone.
- ``POST answers {text, sources?: [{url, title}], match="", count=1}``: the next ``count``
  turns whose instruction contains ``match`` answer exactly ``text`` (streamed like any answer)
  and cite ``sources`` instead of the scripted ones: hostile worker output for tests.
- ``GET requests`` → ``[{time, method, path (decoded), raw_path, query, host, authorization:
  valid|invalid|none, idempotency_key (the header, or null), body (JSON or null), status (null
  when closed by a fault), finished}]``,
  including ``/_foreign/`` and rejected requests; the key is never stored. ``finished`` is when
  the handler returned (for SSE: when the stream was closed), null until then. ``DELETE
  requests`` clears.
- ``GET workers`` → ``[{id, status, turns (a count), inputs}]``. With ``?times=true`` each also
  has ``turn_times: [{number, started_at, first_text_at, ended_at, deltas: [t, …], chars: [n,
  …]}]``: when the turn started, emitted its first text delta and ended (finish or error; null
  while running), when each text delta was emitted, and the length of the turn's text after
  each delta. Every time here is real Unix seconds (``time.time()``, float), stamped when the
  event is appended to the turn, before any stream can send it.
- ``GET workers/{id}/events`` → ``[{turn, kind, time, chars}]``: every event of every turn, in
  order (``kind``: ``start``, ``step_start``, ``tool_call``, ``tool_result``, ``step_finish``,
  ``text_start``, ``text_delta``, ``text_end``, ``source``, ``file``, ``finish``, ``error``;
  ``chars``: the turn's text length then). 404 for an unknown worker.
- ``GET stats`` → ``{open_streams, peak_open_streams, streams}``: SSE responses open now, the
  most open at once, and how many were opened, since the last reset.
- ``POST config`` any of ``{stream_format, done_sentinel, turn_seconds, chunks, time_scale,
  blocking, idle_stream, idempotency_keys}`` → the whole config (400 on a bad key or value).
  ``idempotency_keys: false`` ignores ``Idempotency-Key`` headers (an API without the feature).
- ``GET overview`` → ``{now, now_unix, workers: [{id, status, turns, inputs, output_excerpt,
  failed, files, email, created_at}], schedules: [WorkerSchedule + {workerId, next_run}]}``:
  everything at once, soonest schedule first (the sandbox page's Handinger panel).
- ``GET clock`` / ``POST clock {advance: seconds}`` → ``{"now": ISO}``; due schedules have
  started their turns when the POST returns.
- ``POST reset``: forget workers (running turns are cancelled, their streams closed),
  schedules, faults, held responses (released), remembered idempotency keys, the request log
  and the stream counts; config back to the CLI values, clock back to real time.
"""

from .server import create_app
from .state import Config

__all__ = ["Config", "create_app"]
