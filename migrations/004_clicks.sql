-- Clicks per link per hour, on the link's shard. A row is one instance's count for one hour as
-- flushed to one shard (`home`) under one ring version (`epoch`): a row a re-sharding copies can
-- never collide with a row flushed anywhere else (not even on the same shard in a later era of
-- the ring), so a link's total is the plain sum of its rows wherever they sit.
CREATE TABLE link_clicks (
  code text NOT NULL,
  hour timestamptz NOT NULL,
  instance text NOT NULL,
  home int NOT NULL,
  epoch bigint NOT NULL,
  clicks bigint NOT NULL,
  PRIMARY KEY (code, hour, instance, home, epoch)
);

-- Flush batches already applied on this shard, so a retried flush never counts twice.
CREATE TABLE click_batches (
  batch_id text PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);
