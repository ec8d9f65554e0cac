package rulestest_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/kfbot/kfbot/rules"
	"github.com/kfbot/kfbot/rules/rulestest"
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
tests:
  - name: opening hours
    steps:
      - enter: {scene: ad}
        expect: {welcome: "Hi! How can we help?"}
      - click: hours
        expect: {reply: "We are open 9:00-18:00."}
  - name: wrong on purpose
    steps:
      - say: "hours?"
        expect: {reply: "We are closed."}
`

func ExampleRun() {
	set, err := rules.Load(strings.NewReader(shop), "shop.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	passed, failed, err := rulestest.Run(context.Background(), set, set.Tests(), os.Stdout)
	fmt.Println(passed, failed, err)
	// Output:
	// ok   test "opening hours"
	// FAIL test "wrong on purpose", step 1 (say "hours?"): reply[0]: got "We are open 9:00-18:00.", want "We are closed."
	// 1 passed, 1 failed
	// 1 1 <nil>
}
