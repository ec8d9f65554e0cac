package rules_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRulesGreetByNickname: a rule that reads customer.nickname has the profiles of a
// page's new customers fetched in batches of 100 before the page is handled: 200 new
// customers cost 2 batchget calls, and each is greeted by name.
func TestRulesGreetByNickname(t *testing.T) {
	h := newHarness(t)
	set := mustLoad(t, `version: 1
rules:
  - name: greet
    when: msg.type == "text"
    then: [{reply: 'Hello {{ customer.nickname == "" ? "friend" : customer.nickname }}'}]
`)
	require.NoError(t, set.Install(h.b))
	const n = 200
	for i := range n {
		id := fmt.Sprintf("wmCustomer%03d", i)
		h.srv.AddCustomer(id, fmt.Sprintf("Name%03d", i))
		h.srv.AddText(kfid, id, "hi")
	}
	require.NoError(t, h.b.Pull(t.Context(), kfid))
	assert.Equal(t, 2, h.srv.Calls("kf/customer/batchget"), "200 new customers in one page")
	for i := range n {
		sent := h.srv.SentTo(kfid, fmt.Sprintf("wmCustomer%03d", i))
		require.Len(t, sent, 1)
		assert.Equal(t, fmt.Sprintf("Hello Name%03d", i), sent[0].Text)
	}
	assert.Empty(t, h.takeErrors())

	// The profiles are cached in the sessions: the customers' next messages ask nothing.
	for i := range n {
		h.srv.AddText(kfid, fmt.Sprintf("wmCustomer%03d", i), "again")
	}
	require.NoError(t, h.b.Pull(t.Context(), kfid))
	assert.Equal(t, 2, h.srv.Calls("kf/customer/batchget"))
}

// TestProfileFailureNeverBlocksAReply: when batchget fails, the reply goes out with the
// fields empty.
func TestProfileFailureNeverBlocksAReply(t *testing.T) {
	h := newHarness(t)
	set := mustLoad(t, `version: 1
rules:
  - name: greet
    then: [{reply: 'Hello {{ customer.nickname }}!'}]
`)
	require.NoError(t, set.Install(h.b))
	h.srv.AddCustomer(user, "Alice")
	h.srv.FailNext("kf/customer/batchget", 60011) // no privilege: not retried
	assert.Equal(t, []string{"Hello !"}, h.say(t, "hi"))
	assert.Empty(t, h.takeErrors())
}

// TestProfilesAreFetchedOnlyWhenARuleReadsThem: a set that never reads customer.* never
// calls batchget.
func TestProfilesAreFetchedOnlyWhenARuleReadsThem(t *testing.T) {
	h := newHarness(t)
	set := mustLoad(t, `version: 1
rules:
  - name: greet
    then: [{reply: 'Hello'}]
`)
	require.NoError(t, set.Install(h.b))
	h.srv.AddCustomer(user, "Alice")
	assert.Equal(t, []string{"Hello"}, h.say(t, "hi"))
	assert.Zero(t, h.srv.Calls("kf/customer/batchget"))
}
