-- CreateTable
CREATE TABLE "decision_minute" (
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "effect" "decision_effect" NOT NULL,
    "fail_reason" TEXT NOT NULL DEFAULT '',
    "n" BIGINT NOT NULL,

    CONSTRAINT "decision_minute_pkey" PRIMARY KEY ("bucket","effect","fail_reason")
);

-- CreateTable
CREATE TABLE "decision_hour_rule" (
    "effect" "decision_effect" NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "rule" TEXT NOT NULL,
    "n" BIGINT NOT NULL,

    CONSTRAINT "decision_hour_rule_pkey" PRIMARY KEY ("effect","bucket","rule")
);

-- CreateTable
CREATE TABLE "decision_hour_principal" (
    "effect" "decision_effect" NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "principal" TEXT NOT NULL,
    "n" BIGINT NOT NULL,

    CONSTRAINT "decision_hour_principal_pkey" PRIMARY KEY ("effect","bucket","principal")
);

-- The roll-ups follow decision_log by themselves, whatever writes to it (the ingest's batch
-- INSERT, a bulk load, retention deletes): one statement-level trigger per change, reading the
-- statement's transition table ("changed"), so a batch costs one GROUP BY per roll-up, not a
-- trigger call per row. Transition tables hold only the rows really inserted: re-sent decisions
-- skipped by ON CONFLICT (id) DO NOTHING are not counted twice. TG_ARGV[0] is +1 for rows
-- that arrive (INSERT, UPDATE's new rows) and -1 for rows that leave (DELETE, UPDATE's old
-- rows). Every upsert runs in key order and the tables in one order, so concurrent batches
-- touching the same minute wait for each other instead of deadlocking. Buckets are on the Unix
-- epoch (date_bin), as the timeline's, whatever the session's time zone.
--
-- The bodies are E'' strings with every semicolon written \073: scripts/db/migrate.mjs applies
-- migrations through Prisma's pg driver adapter, whose executeScript cuts a script at each
-- semicolon, inside dollar quotes too (and runs the pieces one by one).
CREATE FUNCTION "decision_rollup_apply"() RETURNS trigger LANGUAGE plpgsql AS E'
DECLARE
  direction bigint := TG_ARGV[0]::bigint\073
  origin constant timestamptz := TIMESTAMPTZ ''1970-01-01 00:00:00+00''\073
  first_at timestamptz\073
  last_at timestamptz\073
BEGIN
  INSERT INTO decision_minute AS t (bucket, effect, fail_reason, n)
  SELECT date_bin(interval ''1 minute'', c.at, origin), c.effect, coalesce(c.fail_reason, ''''),
         direction * count(*)
  FROM changed c
  GROUP BY 1, 2, 3
  ORDER BY 1, 2, 3
  ON CONFLICT (bucket, effect, fail_reason) DO UPDATE SET n = t.n + excluded.n\073

  -- As GET /v1/decisions/stats counts rules: reasons of the decision''s own effect, each
  -- <policy>/<rule> once per decision.
  INSERT INTO decision_hour_rule AS t (effect, bucket, rule, n)
  SELECT effect, bucket, rule, direction * count(*)
  FROM (
    SELECT DISTINCT c.id, c.effect, date_bin(interval ''1 hour'', c.at, origin) AS bucket,
           (r->>''policy'') || ''/'' || (r->>''rule'') AS rule
    FROM changed c
    CROSS JOIN LATERAL jsonb_array_elements(
      CASE WHEN jsonb_typeof(c.reasons) = ''array'' THEN c.reasons ELSE ''[]''::jsonb END) AS r
    WHERE c.effect IN (''deny'', ''step_up'') AND r->>''effect'' = c.effect::text
  ) AS matched
  WHERE rule IS NOT NULL
  GROUP BY 1, 2, 3
  ORDER BY 1, 2, 3
  ON CONFLICT (effect, bucket, rule) DO UPDATE SET n = t.n + excluded.n\073

  INSERT INTO decision_hour_principal AS t (effect, bucket, principal, n)
  SELECT c.effect, date_bin(interval ''1 hour'', c.at, origin), c.principal, direction * count(*)
  FROM changed c
  WHERE c.effect IN (''deny'', ''step_up'')
  GROUP BY 1, 2, 3
  ORDER BY 1, 2, 3
  ON CONFLICT (effect, bucket, principal) DO UPDATE SET n = t.n + excluded.n\073

  -- Rows that left may leave counts at zero: drop them (only within those rows'' time span).
  IF direction < 0 THEN
    SELECT min(at), max(at) INTO first_at, last_at FROM changed\073
    IF first_at IS NOT NULL THEN
      DELETE FROM decision_minute
      WHERE n = 0 AND bucket >= date_bin(interval ''1 minute'', first_at, origin)
        AND bucket <= last_at\073
      DELETE FROM decision_hour_rule
      WHERE n = 0 AND effect IN (''deny'', ''step_up'')
        AND bucket >= date_bin(interval ''1 hour'', first_at, origin) AND bucket <= last_at\073
      DELETE FROM decision_hour_principal
      WHERE n = 0 AND effect IN (''deny'', ''step_up'')
        AND bucket >= date_bin(interval ''1 hour'', first_at, origin) AND bucket <= last_at\073
    END IF\073
  END IF\073
  RETURN NULL\073
END
';

CREATE FUNCTION "decision_rollup_truncate"() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  TRUNCATE decision_minute, decision_hour_rule, decision_hour_principal\073
  RETURN NULL\073
END
';

-- The triggers and the backfill of the decisions already logged, in one statement (so one
-- transaction, holding decision_log's lock throughout).
DO E'
BEGIN
  -- Held until this statement commits: no insert falls between the triggers and the backfill''s
  -- snapshot (a concurrent ingest waits, then is counted by the triggers).
  LOCK TABLE decision_log IN SHARE ROW EXCLUSIVE MODE\073

  CREATE TRIGGER decision_rollup_insert AFTER INSERT ON decision_log
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION decision_rollup_apply(''1'')\073
  CREATE TRIGGER decision_rollup_delete AFTER DELETE ON decision_log
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION decision_rollup_apply(''-1'')\073
  -- Nothing updates decision rows today\073 an UPDATE (by hand) moves their counts all the same.
  CREATE TRIGGER decision_rollup_update_old AFTER UPDATE ON decision_log
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION decision_rollup_apply(''-1'')\073
  CREATE TRIGGER decision_rollup_update_new AFTER UPDATE ON decision_log
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION decision_rollup_apply(''1'')\073
  CREATE TRIGGER decision_rollup_truncate AFTER TRUNCATE ON decision_log
    FOR EACH STATEMENT EXECUTE FUNCTION decision_rollup_truncate()\073

  -- The decisions already logged.
  INSERT INTO decision_minute (bucket, effect, fail_reason, n)
  SELECT date_bin(interval ''1 minute'', at, TIMESTAMPTZ ''1970-01-01 00:00:00+00''), effect,
         coalesce(fail_reason, ''''), count(*)
  FROM decision_log
  GROUP BY 1, 2, 3\073

  INSERT INTO decision_hour_rule (effect, bucket, rule, n)
  SELECT effect, bucket, rule, count(*)
  FROM (
    SELECT DISTINCT d.id, d.effect,
           date_bin(interval ''1 hour'', d.at, TIMESTAMPTZ ''1970-01-01 00:00:00+00'') AS bucket,
           (r->>''policy'') || ''/'' || (r->>''rule'') AS rule
    FROM decision_log d
    CROSS JOIN LATERAL jsonb_array_elements(
      CASE WHEN jsonb_typeof(d.reasons) = ''array'' THEN d.reasons ELSE ''[]''::jsonb END) AS r
    WHERE d.effect IN (''deny'', ''step_up'') AND r->>''effect'' = d.effect::text
  ) AS matched
  WHERE rule IS NOT NULL
  GROUP BY 1, 2, 3\073

  INSERT INTO decision_hour_principal (effect, bucket, principal, n)
  SELECT effect, date_bin(interval ''1 hour'', at, TIMESTAMPTZ ''1970-01-01 00:00:00+00''),
         principal, count(*)
  FROM decision_log
  WHERE effect IN (''deny'', ''step_up'')
  GROUP BY 1, 2, 3\073
END
';
