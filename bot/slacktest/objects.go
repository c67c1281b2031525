package slacktest

import "encoding/json"

// Objects calls visit with every JSON object in Block Kit JSON (blocks,
// elements, text objects, views), parents before children, and stops at
// the first error visit returns: the one walk that tests reading what a
// message says share.
func Objects(raw []byte, visit func(map[string]any) error) error {
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return err
	}
	var walk func(v any) error
	walk = func(v any) error {
		switch x := v.(type) {
		case map[string]any:
			if err := visit(x); err != nil {
				return err
			}
			for _, c := range x {
				if err := walk(c); err != nil {
					return err
				}
			}
		case []any:
			for _, c := range x {
				if err := walk(c); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(tree)
}
