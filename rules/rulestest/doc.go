// Package rulestest runs the conversation tests of rule files: the `tests` a rule file or
// a tests-only file holds ([rules.Test], read by [rules.Set.Tests] and
// [rules.LoadTests]). Each test runs through a real engine ([bot.New] with the set
// installed and an in-memory store) talking to a fresh fake WeCom server
// ([github.com/kfbot/kfbot/kf/kftest]), so a program that only serves rules does not
// compile either. `kfbot rules test` is [RunFile].
package rulestest
