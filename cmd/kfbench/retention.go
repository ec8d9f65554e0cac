package main

import "time"

// loadRetention is how long the fake of load, ceiling and rules runs keeps what a
// client may present again (kftest.WithRetention): the items a cursor handed out or
// presented that long ago can still reach, and the outbound msgids accepted that long
// ago. A closed-loop run answers tens of thousands of messages a second, and kftest's
// default (72 hours, WeCom's own) would keep every one of them, so the process — the
// fake shares it with the bot in process — would grow by about a KiB per message and
// its garbage collector would work on an ever larger heap. The bot under test presents
// its saved cursor again within milliseconds of being handed it (these runs inject no
// faults and restart nothing), so 10 seconds leaves a wide margin. crash and soak keep
// the default: they restart the binary, or back off on faults, and send at most a few
// hundred messages a second.
const loadRetention = 10 * time.Second
