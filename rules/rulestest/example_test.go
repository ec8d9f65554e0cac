package rulestest_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/kfbot/kfbot/rules"
	"github.com/kfbot/kfbot/rules/rulestest"
)

const faq = `version: 1
rules:
  - name: refund
    when: msg.text contains "refund"
    then: [{reply: "Refunds take 3 days."}]
tests:
  - name: refunds
    steps:
      - say: "my refund?"
        expect: {reply: "Refunds take 3 days."}
  - name: wrong on purpose
    steps:
      - say: "refund please"
        expect: {reply: "No refunds."}
`

func ExampleRun() {
	set, err := rules.Load(strings.NewReader(faq), "faq.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	passed, failed, err := rulestest.Run(context.Background(), set, set.Tests(), os.Stdout)
	fmt.Println(passed, failed, err)
	// Output:
	// ok   test "refunds"
	// FAIL test "wrong on purpose", step 1 (say "refund please"): reply[0]: got "Refunds take 3 days.", want "No refunds."
	// 1 passed, 1 failed
	// 1 1 <nil>
}
