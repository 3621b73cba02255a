"""The PostgreSQL schema: the same migrations as `schema.py`, number for number, in SQL.

Migration N leaves a PostgreSQL database with the tables, columns, keys and indexes that
SQLite's migration N leaves, so `schema_version` means the same on both engines and
`migrate-db` can copy rows across by name. Times are seconds since the epoch
(`DOUBLE PRECISION`), like SQLite's floats; run ids are an identity column that also
accepts explicit values (a copied database keeps its ids).
"""

from __future__ import annotations

from .schema import HEARTBEAT_INDEXES

RATE_FIT = """
CREATE FUNCTION rate_fit(
    calls DOUBLE PRECISION[], lim INTEGER, win DOUBLE PRECISION, t DOUBLE PRECISION
) RETURNS DOUBLE PRECISION LANGUAGE plpgsql IMMUTABLE AS $$
-- The earliest time from `t` at which one more call keeps `calls` (sorted) at most `lim` in
-- any `win` seconds: every `lim` + 1 consecutive calls then span `win` or more. It is `t`, a
-- call's time, or a call's time plus `win` (after the last call's window, it always fits).
DECLARE
    candidate DOUBLE PRECISION;
    merged DOUBLE PRECISION[];
    fits BOOLEAN;
    j INTEGER;
BEGIN
    FOR candidate IN
        SELECT c FROM (
            SELECT t AS c
            UNION SELECT x FROM unnest(calls) x
            UNION SELECT x + win FROM unnest(calls) x
        ) q WHERE c >= t ORDER BY c
    LOOP
        merged := ARRAY(SELECT x FROM unnest(calls || candidate) x ORDER BY x);
        fits := true;
        FOR j IN 1 .. cardinality(merged) - lim LOOP
            IF merged[j + lim] - merged[j] < win THEN
                fits := false;
                EXIT;
            END IF;
        END LOOP;
        IF fits THEN
            RETURN candidate;
        END IF;
    END LOOP;
    RETURN t;
END
$$
"""
"""Where a booked call fits in a scope's window (`rates.fit` in SQL)."""

TAKE_RATE_CALL = """
CREATE OR REPLACE FUNCTION take_rate_call(
    p_scopes TEXT[], p_limits INTEGER[], p_windows DOUBLE PRECISION[], p_owner TEXT,
    p_final BOOLEAN, p_reserve INTEGER, p_reserve_cap INTEGER, p_book BOOLEAN,
    p_now DOUBLE PRECISION
) RETURNS DOUBLE PRECISION LANGUAGE plpgsql VOLATILE AS $$
-- `rates.py`'s take, in one statement. The scope rows are locked first, in the caller's
-- (sorted) order; each later statement of a VOLATILE function takes a fresh snapshot in
-- READ COMMITTED, so it sees every call committed by whoever held those locks before.
DECLARE
    i INTEGER;
    n INTEGER := cardinality(p_scopes);
    now_s DOUBLE PRECISION;
    since DOUBLE PRECISION;
    paused DOUBLE PRECISION;
    keep BIGINT;
    ahead BIGINT;
    counted BIGINT;
    excess BIGINT;
    oldest DOUBLE PRECISION;
    wait DOUBLE PRECISION := 0;
    book_at DOUBLE PRECISION;
    fit DOUBLE PRECISION;
    moved BOOLEAN;
    MIN_WAIT CONSTANT DOUBLE PRECISION := 0.001;
BEGIN
    now_s := COALESCE(p_now, CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION));
    FOR i IN 1 .. n LOOP
        INSERT INTO rate_scopes (scope, touched_at) VALUES (p_scopes[i], now_s)
        ON CONFLICT (scope) DO UPDATE SET touched_at = excluded.touched_at;
    END LOOP;
    -- read after the locks: calls are counted in the order they are let through
    now_s := COALESCE(p_now, CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION));
    book_at := now_s;
    FOR i IN 1 .. n LOOP
        since := now_s - p_windows[i];
        SELECT paused_until INTO paused FROM rate_scopes WHERE scope = p_scopes[i];
        IF paused > now_s THEN
            wait := GREATEST(wait, paused - now_s);
            book_at := GREATEST(book_at, paused);
        END IF;
        DELETE FROM rate_calls WHERE scope = p_scopes[i] AND at <= since;
        INSERT INTO rate_reserves (scope, owner, reserved, at, waiting_until)
        VALUES (p_scopes[i], p_owner, p_reserve, now_s, NULL)
        ON CONFLICT (scope, owner) DO UPDATE SET reserved = excluded.reserved, at = excluded.at,
        waiting_until = NULL;
        IF p_book THEN
            CONTINUE;
        END IF;
        SELECT count(*) INTO counted FROM rate_calls WHERE scope = p_scopes[i];
        keep := 0;
        ahead := 0;
        IF NOT p_final THEN
            SELECT LEAST(COALESCE(SUM(reserved), 0), p_reserve_cap),
                count(*) FILTER (WHERE owner <> p_owner AND waiting_until > now_s)
            INTO keep, ahead
            FROM rate_reserves WHERE scope = p_scopes[i] AND at > since;
        END IF;
        excess := counted + 1 + keep - p_limits[i];
        IF excess > counted THEN
            wait := GREATEST(wait, p_windows[i] / GREATEST(p_limits[i], 1));
        ELSIF excess > 0 THEN
            -- the others told to wait go first, one opening each
            SELECT at INTO oldest FROM rate_calls WHERE scope = p_scopes[i]
            ORDER BY at OFFSET LEAST(excess - 1 + ahead, counted - 1) LIMIT 1;
            wait := GREATEST(wait, oldest + p_windows[i] - now_s, MIN_WAIT);
        END IF;
    END LOOP;
    IF p_book THEN
        LOOP  -- the earliest time that fits every scope (each fit only moves it later)
            moved := false;
            FOR i IN 1 .. n LOOP
                fit := rate_fit(
                    ARRAY(SELECT at FROM rate_calls WHERE scope = p_scopes[i] ORDER BY at),
                    p_limits[i], p_windows[i], book_at
                );
                IF fit > book_at THEN
                    book_at := fit;
                    moved := true;
                END IF;
            END LOOP;
            EXIT WHEN NOT moved;
        END LOOP;
        wait := book_at - now_s;
    ELSIF wait > 0 THEN
        IF NOT p_final THEN  -- in the queue until then
            UPDATE rate_reserves SET waiting_until = now_s + wait
            WHERE scope = ANY(p_scopes) AND owner = p_owner;
        END IF;
        RETURN wait;
    END IF;
    INSERT INTO rate_calls (scope, at, owner)
    SELECT s, now_s + wait, p_owner FROM unnest(p_scopes) s;
    RETURN wait;
END
$$
"""
"""`RateQueries.take_call` on PostgreSQL: one round trip instead of a transaction of seven.
Migration 12 created it, 15 replaced it (the queue of refused progress): the newest text."""

PG_MIGRATIONS: list[list[str]] = [
    [  # 1: threads, runs, handled Slack requests
        "CREATE TABLE threads (team_id TEXT NOT NULL, channel_id TEXT NOT NULL, "
        "thread_ts TEXT NOT NULL, worker_id TEXT NOT NULL, user_id TEXT, "
        "created_at DOUBLE PRECISION, PRIMARY KEY (team_id, channel_id, thread_ts))",
        "CREATE INDEX idx_threads_worker_id ON threads (worker_id)",
        "CREATE TABLE runs (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
        "team_id TEXT NOT NULL, channel_id TEXT NOT NULL, thread_ts TEXT, kind TEXT NOT NULL, "
        "input TEXT NOT NULL, budget TEXT, user_id TEXT, status TEXT NOT NULL, "
        "created_at DOUBLE PRECISION, worker_id TEXT, message_ts TEXT, trigger_ts TEXT, "
        "response_url TEXT, error TEXT, started_at DOUBLE PRECISION, "
        "finished_at DOUBLE PRECISION, messages_before BIGINT)",
        "CREATE INDEX idx_runs_status ON runs (status)",
        "CREATE INDEX idx_runs_team_id_channel_id_thread_ts ON runs "
        "(team_id, channel_id, thread_ts)",
        "CREATE TABLE handled_events (key TEXT PRIMARY KEY, handled_at DOUBLE PRECISION)",
    ],
    [  # 2: files uploaded into threads, once per (thread, path, content)
        "CREATE TABLE uploads (team_id TEXT, channel_id TEXT, thread_ts TEXT, path TEXT, "
        "sha256 TEXT, size BIGINT, worker_id TEXT, run_id BIGINT, slack_file_id TEXT, "
        "uploaded_at DOUBLE PRECISION, "
        "PRIMARY KEY (team_id, channel_id, thread_ts, path, sha256))",
        "ALTER TABLE runs ADD COLUMN files_done BIGINT",
        "UPDATE runs SET files_done = 1",
    ],
    [  # 3: schedules, their digests, and how much of each worker's history was seen
        "CREATE TABLE schedules (id TEXT PRIMARY KEY, team_id TEXT, channel_id TEXT, "
        "worker_id TEXT, creator_id TEXT, input TEXT, budget TEXT, type TEXT, "
        "description TEXT, status TEXT, created_at DOUBLE PRECISION, "
        "next_run_at DOUBLE PRECISION, cancelled_by TEXT)",
        "CREATE INDEX idx_schedules_team_id_channel_id_status ON schedules "
        "(team_id, channel_id, status)",
        "CREATE INDEX idx_schedules_worker_id ON schedules (worker_id)",
        "CREATE TABLE pending_schedules (run_id BIGINT PRIMARY KEY, when_json TEXT, "
        "input TEXT, budget TEXT, description TEXT, schedule_id TEXT)",
        "CREATE TABLE worker_marks (worker_id TEXT PRIMARY KEY, messages_seen BIGINT, "
        "updated_at DOUBLE PRECISION)",
        "CREATE TABLE digests (key TEXT PRIMARY KEY, worker_id TEXT, schedule_id TEXT, "
        "run_id BIGINT, message_index BIGINT, late BIGINT, created_at DOUBLE PRECISION)",
    ],
    [  # 4: what a restart needs to resume a run whose request may have gone out
        "ALTER TABLE runs ADD COLUMN ref TEXT",
        "ALTER TABLE runs ADD COLUMN request_sent_at DOUBLE PRECISION",
        "UPDATE runs SET request_sent_at = created_at WHERE status IN ('starting', 'running') "
        "AND (kind = 'new' OR messages_before IS NOT NULL)",
    ],
    [  # 5: finished runs whose message does not show their outcome yet
        "ALTER TABLE runs ADD COLUMN final_pending TEXT",
    ],
    [  # 6: what a finished turn cost
        "ALTER TABLE runs ADD COLUMN usage_json TEXT",
        "ALTER TABLE runs ADD COLUMN costs_json TEXT",
    ],
    [  # 7: the prompt a run sent, and who a worker answers in a thread
        "ALTER TABLE runs ADD COLUMN prompt TEXT",
        "CREATE TABLE reply_modes (team_id TEXT, channel_id TEXT, thread_ts TEXT, "
        "mode TEXT NOT NULL, set_by TEXT, set_at DOUBLE PRECISION, "
        "PRIMARY KEY (team_id, channel_id, thread_ts))",
    ],
    [  # 8: the assistant pane's threads, and votes on answers
        "CREATE TABLE assistant_threads (team_id TEXT, channel_id TEXT, thread_ts TEXT, "
        "user_id TEXT, context_channel_id TEXT, created_at DOUBLE PRECISION, "
        "PRIMARY KEY (team_id, channel_id, thread_ts))",
        "CREATE TABLE feedback (run_id BIGINT, user_id TEXT, vote TEXT, at DOUBLE PRECISION, "
        "PRIMARY KEY (run_id, user_id))",
    ],
    [  # 9: leases on in-flight work
        "CREATE TABLE leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, "
        "expires_at DOUBLE PRECISION NOT NULL)",
        "CREATE INDEX idx_leases_owner ON leases (owner)",
    ],
    [  # 10: Slack's rate limits shared by all processes
        "CREATE TABLE rate_scopes (scope TEXT PRIMARY KEY, touched_at DOUBLE PRECISION)",
        "CREATE TABLE rate_calls (scope TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, owner TEXT)",
        "CREATE INDEX idx_rate_calls_scope_at ON rate_calls (scope, at)",
        "CREATE TABLE rate_reserves (scope TEXT, owner TEXT, reserved BIGINT, "
        "at DOUBLE PRECISION, PRIMARY KEY (scope, owner))",
    ],
    [  # 11: workspaces the app left, for every process to stop its work there
        "CREATE TABLE departures (id BIGSERIAL PRIMARY KEY, team_id TEXT NOT NULL, "
        "at DOUBLE PRECISION NOT NULL)",
    ],
    [  # 12: a 429 pauses a scope for every process; a Slack call costs one round trip
        "ALTER TABLE rate_scopes ADD COLUMN paused_until DOUBLE PRECISION",
        RATE_FIT,
        TAKE_RATE_CALL,
    ],
    [  # 13: the inbox: a Slack request's body kept with its claim until its work is recorded
        "ALTER TABLE handled_events ADD COLUMN request TEXT",
        "ALTER TABLE handled_events ADD COLUMN kind TEXT",
        "ALTER TABLE handled_events ADD COLUMN body TEXT",
        "ALTER TABLE handled_events ADD COLUMN owner TEXT",
        "ALTER TABLE handled_events ADD COLUMN expires_at DOUBLE PRECISION",
        "ALTER TABLE handled_events ADD COLUMN takeovers BIGINT",
        "CREATE INDEX idx_handled_events_pending ON handled_events (expires_at) "
        "WHERE body IS NOT NULL",
    ],
    [*HEARTBEAT_INDEXES],  # 14: indexes for the heartbeat's takeover scan and the prune
    [  # 15: the permalink of a run's message, fetched once for every process
        "ALTER TABLE runs ADD COLUMN permalink TEXT",
    ],
    [  # 16: refused progress queues across processes instead of all asking again at once
        "ALTER TABLE rate_reserves ADD COLUMN waiting_until DOUBLE PRECISION",
        TAKE_RATE_CALL,
    ],
]
"""Statements of each migration, in order; each migration runs in one transaction."""
