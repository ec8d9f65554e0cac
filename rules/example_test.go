package rules_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/kfbot/kfbot/rules"
)

const shop = `version: 1
rules:
  - name: welcome
    when: msg.event == "enter_session"
    then:
      - welcome:
          menu:
            head: "Hi! How can we help?"
            items:
              - click: {id: hours, text: "Opening hours"}
  - name: hours
    when: msg.menu_id == "hours" || msg.text contains "hours"
    then:
      - reply: "We are open 9:00-18:00."
  - name: fallback
    when: msg.type == "text"
    then:
      - reply: "Sorry, {{ session.vars.name ?? \"friend\" }}, I did not get that."
tests:
  - name: opening hours
    steps:
      - enter: {scene: ad}
        expect: {welcome: "Hi! How can we help?"}
      - click: hours
        expect: {reply: "We are open 9:00-18:00."}
      - say: "what?"
        expect: {reply: "Sorry, friend, I did not get that."}
`

func ExampleLoad() {
	set, err := rules.Load(strings.NewReader(shop), "shop.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(set.Rules())
	// Output: [welcome hours fallback]
}

func ExampleLoad_errors() {
	const broken = `version: 1
rules:
  - name: hours
    when: msg.menu == "hours"
    then:
      - replly: "We are open 9:00-18:00."
  - name: hours
    then: [{transfer: human}]
`
	_, err := rules.Load(strings.NewReader(broken), "shop.yaml")
	for _, e := range rules.Errors(err) {
		fmt.Println(e)
	}
	// Output:
	// shop.yaml:4:15: rule "hours": msg has no field menu
	// shop.yaml:6:9: rule "hours": unknown action replly (did you mean reply?)
	// shop.yaml:7:11: rule "hours": another rule has this name (line 3); names must be unique
	// shop.yaml:8:23: rule "hours": transfer: want pool, end or {servicer: userid}, got "human"
}

func ExampleLive_Reload() {
	dir, _ := os.MkdirTemp("", "rules")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "rules.yaml")
	_ = os.WriteFile(path, []byte(shop), 0o600)

	live, err := rules.Open(path, rules.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	// A broken edit: the working rules stay.
	_ = os.WriteFile(path, []byte(strings.Replace(shop, "msg.type", "msg.typo", 1)), 0o600)
	fmt.Println(live.Reload(context.Background()) != nil, live.Set().Len())
	// A good edit replaces them.
	_ = os.WriteFile(path, []byte(strings.Replace(shop, "  - name: fallback", "  - name: thanks\n    when: msg.text contains \"thank\"\n    then: [{reply: \"You're welcome!\"}]\n  - name: fallback", 1)), 0o600)
	fmt.Println(live.Reload(context.Background()), live.Set().Rules())
	// Output:
	// true 3
	// <nil> [welcome hours thanks fallback]
}
