-- The messenger's delivery record replaces the Slack columns: its JSON is
-- what bot's notifier reads (bot/delivery.go), and a non-empty
-- approval_shown is the neutral fact that the approval message was posted.
ALTER TABLE requests ADD COLUMN delivery TEXT NOT NULL DEFAULT '';
UPDATE requests SET delivery = '{"response_url":' || to_json(response_url)::text || ',"requester_channel":' || to_json(requester_channel)::text ||
	',"approval_channel":' || to_json(approval_channel)::text || ',"approval_ts":' || to_json(approval_ts)::text || '}'
	WHERE response_url <> '' OR requester_channel <> '' OR approval_channel <> '' OR approval_ts <> '';
