package bot

import "time"

// SetHold sets how long acked work waits (see holdTimes), before Run.
func (b *Bot) SetHold(quiet, most time.Duration) { b.hold = holdTimes{quiet: quiet, most: most} }
