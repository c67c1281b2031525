-- Runs after each engine's 004_delivery.sql, which fills the delivery column.
UPDATE requests SET approval_shown = state WHERE approval_ts <> '' AND approval_shown = '';
UPDATE requests SET approval_shown = '' WHERE approval_ts = '';
-- The old columns go on both engines: during a rolling update a replica of
-- the previous version fails its request reads until it is replaced, which
-- leaves nothing half done, rather than making requests this version
-- cannot reach.
ALTER TABLE requests DROP COLUMN requester_channel;
ALTER TABLE requests DROP COLUMN response_url;
ALTER TABLE requests DROP COLUMN approval_channel;
ALTER TABLE requests DROP COLUMN approval_ts;
