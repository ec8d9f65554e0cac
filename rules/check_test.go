package rules_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/rules"
)

// TestLoadCatchesSilentMistakes: mistakes that used to load silently are reported with
// their position and rule, as errors when they surely are mistakes and as warnings
// (Set.Warnings) when the file may mean them.
func TestLoadCatchesSilentMistakes(t *testing.T) {
	tests := []struct {
		name    string
		rules   string // the rules list, after "version: 1\nrules:\n"
		err     string // the whole error text, "" for none
		warning string // the whole warning text, "" for none
	}{
		{name: "click without id", rules: `
  - name: m
    then:
      - reply: {menu: {items: [{click: {text: Yes}}]}}
`, warning: `rules.yaml:5:40: warning: rule "m": a click without an id: the tap comes back as plain text with an empty msg.menu_id, so no rule can tell it from typed text; give it an id`},
		{name: "duplicate menu ids", rules: `
  - name: m
    then:
      - reply:
          menu:
            items:
              - click: {id: a, text: Yes}
              - click: {id: a, text: No}
`, err: `rules.yaml:9:17: rule "m": menu click id "a" repeated (first at line 8): the ids of one menu must differ, or a tap cannot be told apart`},
		{name: "link url without scheme", rules: `
  - name: l
    then:
      - reply: {link: {title: T, url: "example.com/page", thumb_media_id: M}}
`, err: `rules.yaml:5:39: rule "l": link.url "example.com/page" is not an absolute http or https URL (like https://example.com/page)`},
		{name: "view url unparsable", rules: `
  - name: v
    then:
      - reply: {menu: {items: [{view: {url: "http://a b/%zz", text: Go}}]}}
`, err: `rules.yaml:5:45: rule "v": view.url "http://a b/%zz" is not a valid URL: invalid character " " in host name`},
		{name: "templated url is left to run time", rules: `
  - name: v
    then:
      - reply: {link: {title: T, url: "{{ session.vars.url }}", thumb_media_id: M}}
`},
		{name: "welcome in a text rule", rules: `
  - name: w
    when: msg.type == "text" && msg.text == "hi"
    then:
      - welcome: Hello
`, err: `rules.yaml:6:9: rule "w": welcome answers an enter_session event (send_msg_on_event needs its welcome_code), but this rule's when only matches text messages; use reply, or match msg.event == "enter_session"`},
		{name: "welcome in an event rule", rules: `
  - name: w
    when: msg.event == "enter_session"
    then:
      - welcome: Hello
`},
		{name: "unreachable after catch-all", rules: `
  - name: all
    then: [{reply: hi}]
  - name: late
    when: msg.text == "x"
    then: [{reply: x}]
`, warning: `rules.yaml:5:5: warning: rule "late": unreachable: rule "all" (line 3) comes first and answers every message (no when, no continue: true); move this rule above it, or delete it`},
		{name: "a catch-all that continues shadows nothing", rules: `
  - name: all
    when: "true"
    continue: true
    then: [{set: {seen: "true"}}]
  - name: late
    then: [{reply: x}]
`},
		{name: "unknown key beside a reply kind", rules: `
  - name: u
    then:
      - reply: {text: hi, colour: red}
`, err: `rules.yaml:5:27: rule "u": unknown key colour in reply (known: text, menu, image, voice, video, file, link, miniprogram, location)`},
		{name: "unknown key beside an action", rules: `
  - name: u
    then:
      - {reply: hi, shout: HI}
`, err: `rules.yaml:5:21: rule "u": unknown action shout (known: reply, welcome, transfer, set, handler, ai, webhook)`},
		{name: "unknown key beside a menu item", rules: `
  - name: u
    then:
      - reply: {menu: {items: [{click: {id: a, text: A}, colour: red}]}}
`, err: `rules.yaml:5:58: rule "u": unknown key colour in a menu item (known: click, view, miniprogram, text)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := rules.Load(strings.NewReader("version: 1\nrules:"+tt.rules), "rules.yaml", quiet)
			if tt.err != "" {
				require.Error(t, err)
				assert.Equal(t, tt.err, err.Error())
				return
			}
			require.NoError(t, err)
			var ws []string
			for _, w := range set.Warnings() {
				assert.ErrorIs(t, w, rules.ErrSuspicious)
				ws = append(ws, w.Error())
			}
			if tt.warning == "" {
				assert.Empty(t, ws)
			} else {
				assert.Equal(t, []string{tt.warning}, ws)
			}
		})
	}
}
