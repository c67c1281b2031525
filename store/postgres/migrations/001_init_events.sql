-- The events table is in each engine's folder: its id column differs.
CREATE TABLE events (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at BIGINT NOT NULL,
	actor TEXT NOT NULL DEFAULT '',
	channel TEXT NOT NULL DEFAULT '',
	action TEXT NOT NULL,
	command TEXT NOT NULL DEFAULT '',
	vendor TEXT NOT NULL DEFAULT '',
	instance TEXT NOT NULL DEFAULT '',
	target TEXT NOT NULL DEFAULT '',
	request_id TEXT NOT NULL DEFAULT '',
	result TEXT NOT NULL DEFAULT '',
	detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_at ON events (at);
CREATE INDEX events_request ON events (request_id);
