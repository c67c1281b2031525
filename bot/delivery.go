package bot

import (
	"bytes"
	"encoding/json"
)

// delivery is the notifier's record of a request, kept opaque by commands
// and the store (store.Request.Delivery): how to answer the requester and
// where the approval message is. Store migration 004 writes this JSON from
// the columns it replaced, field for field: keep the two in step.
type delivery struct {
	// ResponseURL answers the requester for 30 minutes after they asked.
	ResponseURL string `json:"response_url"`
	// RequesterChannel is where they asked: an ephemeral message there
	// reaches them once the response_url has lapsed.
	RequesterChannel string `json:"requester_channel"`
	ApprovalChannel  string `json:"approval_channel"`
	ApprovalTS       string `json:"approval_ts"`
}

// encode writes d as compact JSON without HTML escaping, byte for byte
// what the migration writes.
func (d delivery) encode() string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(d) // a struct of strings always encodes
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// decodeDelivery reads a request's record; one made elsewhere (the
// console) or never written reads as empty: nothing to reach.
func decodeDelivery(s string) delivery {
	var d delivery
	if s != "" {
		json.Unmarshal([]byte(s), &d)
	}
	return d
}

// replyTo is a caller's opaque "where to answer" token for commands.
func replyTo(responseURL, channel string) string {
	if responseURL == "" && channel == "" {
		return ""
	}
	return delivery{ResponseURL: responseURL, RequesterChannel: channel}.encode()
}
