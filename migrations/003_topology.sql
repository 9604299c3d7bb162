-- The ring as versioned data. Only shard 0's primary (the catalog) holds rows; the tables exist
-- on every primary because every primary runs the same migrations.
CREATE TABLE topology (
  id int PRIMARY KEY CHECK (id = 1),
  version bigint NOT NULL,
  phase text NOT NULL,
  members int[] NOT NULL,
  target int[],
  migration_id text,
  kind text,
  -- The mover's verify and cleanup reports, shown by GET /api/topology.
  report jsonb NOT NULL DEFAULT '{}'::jsonb,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Which ring version each instance runs; heartbeat_at tells the mover who is alive.
CREATE TABLE topology_acks (
  instance text PRIMARY KEY,
  version bigint NOT NULL,
  phase text NOT NULL,
  error text,
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);

-- The mover's keyset checkpoints: one row per (migration, step, source shard, table).
CREATE TABLE reshard_checkpoints (
  migration_id text NOT NULL,
  step text NOT NULL,
  source int NOT NULL,
  tbl text NOT NULL,
  last_key bytea,
  scanned bigint NOT NULL DEFAULT 0,
  moved bigint NOT NULL DEFAULT 0,
  total bigint NOT NULL DEFAULT 0,
  done boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (migration_id, step, source, tbl)
);
