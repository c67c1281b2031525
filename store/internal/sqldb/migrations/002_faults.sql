ALTER TABLE requests ADD COLUMN proposal_key TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX requests_proposal_key ON requests (proposal_key) WHERE proposal_key <> '';
ALTER TABLE requests ADD COLUMN approval_shown TEXT NOT NULL DEFAULT '';
CREATE INDEX requests_state ON requests (state);
UPDATE requests SET approval_shown = state WHERE approval_ts <> '';
