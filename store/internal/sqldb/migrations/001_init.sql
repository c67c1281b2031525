CREATE TABLE requests (
	id TEXT PRIMARY KEY,
	action TEXT NOT NULL,
	vendor TEXT NOT NULL,
	instance TEXT NOT NULL,
	session_id TEXT NOT NULL DEFAULT '',
	target_directory TEXT NOT NULL DEFAULT '',
	target_user TEXT NOT NULL DEFAULT '',
	node TEXT NOT NULL DEFAULT '',
	session_started BIGINT NOT NULL DEFAULT 0,
	reason TEXT NOT NULL DEFAULT '',
	requester TEXT NOT NULL,
	requester_channel TEXT NOT NULL DEFAULT '',
	response_url TEXT NOT NULL DEFAULT '',
	approvals_needed INTEGER NOT NULL CHECK (approvals_needed >= 1),
	allow_self_approval INTEGER NOT NULL DEFAULT 0,
	state TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	decided_at BIGINT NOT NULL DEFAULT 0,
	execution_started BIGINT NOT NULL DEFAULT 0,
	lease_until BIGINT NOT NULL DEFAULT 0,
	finished_at BIGINT NOT NULL DEFAULT 0,
	executor TEXT NOT NULL DEFAULT '',
	outcome TEXT NOT NULL DEFAULT '',
	approval_channel TEXT NOT NULL DEFAULT '',
	approval_ts TEXT NOT NULL DEFAULT ''
);
CREATE INDEX requests_state_expires ON requests (state, expires_at);
CREATE INDEX requests_state_lease ON requests (state, lease_until);

CREATE TABLE votes (
	request_id TEXT NOT NULL REFERENCES requests (id),
	voter TEXT NOT NULL,
	approve INTEGER NOT NULL,
	reason TEXT NOT NULL DEFAULT '',
	at BIGINT NOT NULL,
	PRIMARY KEY (request_id, voter)
);

CREATE TABLE once_keys (
	key TEXT PRIMARY KEY,
	expires_at BIGINT NOT NULL
);
CREATE INDEX once_keys_expires ON once_keys (expires_at);
