-- The blocklist's entries added through the admin API (src/domain/host-blocklist.ts; the file
-- BLOCKLIST_FILE adds more), on the catalog shard (shard 0). Every instance holds the whole list
-- in memory and polls the one row of blocklist_version each second, reloading the list only when
-- the number moved: a counter rather than max(added_at), because a removal must be seen too. The
-- statement that changes blocked_hosts bumps it (src/storage/blocklist-rows.ts).
CREATE TABLE blocked_hosts (
  host text PRIMARY KEY,
  added_at timestamptz NOT NULL DEFAULT now(),
  note text
);
CREATE TABLE blocklist_version (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  version bigint NOT NULL
);
INSERT INTO blocklist_version (version) VALUES (0);
