-- The messenger's delivery record replaces the Slack columns: its JSON is
-- what bot's notifier reads (bot/delivery.go), and a non-empty
-- approval_shown is the neutral fact that the approval message was posted.
ALTER TABLE requests ADD COLUMN delivery TEXT NOT NULL DEFAULT '';
UPDATE requests SET delivery = '{"response_url":' || json_quote(response_url) || ',"requester_channel":' || json_quote(requester_channel) ||
	',"approval_channel":' || json_quote(approval_channel) || ',"approval_ts":' || json_quote(approval_ts) || '}'
	WHERE response_url <> '' OR requester_channel <> '' OR approval_channel <> '' OR approval_ts <> '';
