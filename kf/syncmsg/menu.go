package syncmsg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

type menuItemWire struct {
	Type        MenuItemType         `json:"type"`
	Click       *menuClickWire       `json:"click,omitempty"`
	View        *menuViewWire        `json:"view,omitempty"`
	Miniprogram *menuMiniprogramWire `json:"miniprogram,omitempty"`
	Text        *menuTextWire        `json:"text,omitempty"`
}

// The menu item wire structs have the field layout of their exported twins,
// so they convert to each other directly.

type menuClickWire struct {
	ID      string `json:"id,omitempty"`
	Content string `json:"content"`
}

type menuViewWire struct {
	URL     string `json:"url"`
	Content string `json:"content"`
}

type menuMiniprogramWire struct {
	AppID    string `json:"appid"`
	PagePath string `json:"pagepath"`
	Content  string `json:"content"`
}

type menuTextWire struct {
	Content   string `json:"content"`
	NoNewline uint32 `json:"no_newline,omitempty"`
}

// menuItems is the wire form of a menu's `list`, whose errors say which item
// is wrong.
type menuItems []MenuItem

// UnmarshalJSON decodes a list. An empty list decodes to nil.
func (list *menuItems) UnmarshalJSON(b []byte) error {
	var raws []json.RawMessage
	if err := json.Unmarshal(b, &raws); err != nil {
		return err
	}
	if len(raws) == 0 {
		*list = nil
		return nil
	}
	items := make(menuItems, len(raws))
	for i, raw := range raws {
		if err := items[i].UnmarshalJSON(raw); err != nil {
			return fmt.Errorf("list[%d]: %w", i, err)
		}
	}
	*list = items
	return nil
}

// MarshalJSON encodes a list.
func (list menuItems) MarshalJSON() ([]byte, error) {
	out := []byte{'['}
	for i, item := range list {
		b, err := item.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("list[%d]: %w", i, err)
		}
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, b...)
	}
	return append(out, ']'), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (item *MenuItem) UnmarshalJSON(b []byte) error {
	if !isObject(b) {
		return errors.New("not a JSON object")
	}
	var w menuItemWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*item = MenuItem{Type: w.Type}
	missing := false
	switch w.Type {
	case MenuTypeClick:
		item.Click, missing = (*MenuClick)(w.Click), w.Click == nil
	case MenuTypeView:
		item.View, missing = (*MenuView)(w.View), w.View == nil
	case MenuTypeMiniprogram:
		item.Miniprogram, missing = (*MenuMiniprogram)(w.Miniprogram), w.Miniprogram == nil
	case MenuTypeText:
		if missing = w.Text == nil; !missing {
			item.Text = &MenuText{Content: w.Text.Content, NoNewline: w.Text.NoNewline != 0}
		}
	default:
		item.Raw = compact(b)
	}
	if missing {
		return fmt.Errorf("missing %q object", w.Type)
	}
	return nil
}

// MarshalJSON implements json.Marshaler; a known Type without its object is an error.
func (item MenuItem) MarshalJSON() ([]byte, error) {
	w := menuItemWire{Type: item.Type}
	missing := false
	switch item.Type {
	case MenuTypeClick:
		w.Click, missing = (*menuClickWire)(item.Click), item.Click == nil
	case MenuTypeView:
		w.View, missing = (*menuViewWire)(item.View), item.View == nil
	case MenuTypeMiniprogram:
		w.Miniprogram, missing = (*menuMiniprogramWire)(item.Miniprogram), item.Miniprogram == nil
	case MenuTypeText:
		if missing = item.Text == nil; !missing {
			w.Text = &menuTextWire{Content: item.Text.Content}
			if item.Text.NoNewline {
				w.Text.NoNewline = 1
			}
		}
	default:
		if len(item.Raw) > 0 {
			return bytes.Clone(item.Raw), nil
		}
	}
	if missing {
		return nil, fmt.Errorf("item of type %q without its object", item.Type)
	}
	return marshal(w)
}
