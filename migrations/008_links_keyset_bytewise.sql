-- A key's links are paged by (created_at, code) merged over every shard. The merge compares
-- codes byte by byte, so each shard must order and compare them the same way whatever the
-- database's collation is: the keyset uses COLLATE "C", and this index serves it.
CREATE INDEX links_owner_newest_bytewise ON links (owner, created_at DESC, code COLLATE "C" DESC) WHERE owner IS NOT NULL;
DROP INDEX links_owner_newest;
