ALTER TABLE requests ADD COLUMN reminded_at BIGINT NOT NULL DEFAULT 0;

CREATE TABLE session_counts (
	report TEXT NOT NULL,
	at BIGINT NOT NULL,
	instance TEXT NOT NULL,
	node TEXT NOT NULL,
	sessions INTEGER NOT NULL,
	PRIMARY KEY (report, at, instance, node)
);
CREATE INDEX session_counts_at ON session_counts (at);

CREATE TABLE report_runs (
	name TEXT PRIMARY KEY,
	done_slot BIGINT NOT NULL,
	claimed_slot BIGINT NOT NULL DEFAULT 0,
	lease_until BIGINT NOT NULL DEFAULT 0
);
