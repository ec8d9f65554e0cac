// Package rules runs a kfbot from a YAML rule file: rules whose conditions are
// [expr] expressions and whose actions reply, welcome, hand over to a person, remember
// things or call Go handlers — plus conversation tests that run the file through the
// real engine against a fake WeCom server.
//
//	set, err := rules.LoadFile("rules.yaml")   // every problem at once, file:line:col
//	if err != nil {
//		log.Fatal(err)
//	}
//	b.Handle(bot.Text("ping"), pong)            // Go handlers before the set see messages first
//	if err := b.Install(set); err != nil {      // a Set is a bot.Plugin
//		log.Fatal(err)
//	}
//
// A [Live] set ([Open]) reloads the file when it changes ([Live.Watch]) or on demand
// ([Live.Reload], e.g. on SIGHUP); a file with errors never replaces a working set.
//
// # The file
//
//	version: 1                     # required; the format's version
//	timezone: Asia/Shanghai        # optional: the zone of `now` (IANA name or +08:00)
//	handback:                      # optional: when a person's conversation comes back
//	  check_interval: 30s          #   ask WeCom at most this often per conversation (0: never)
//	  pool_timeout: 10m            #   end sessions waiting in the pool longer (0: off)
//	  idle_timeout: 1h             #   end sessions no servicer wrote in for this long (0: off)
//	  closing_text: "…"            #   sent when a timeout ends a session
//	rules:                         # tried in file order
//	  - name: hours                # required, unique; appears in logs and errors
//	    description: …             # optional, for people
//	    when: msg.menu_id == "hours" || msg.text contains "营业时间"
//	    continue: false            # optional; true: keep trying later rules after this one
//	    while_human: false         # optional; true: also runs while a person owns the chat
//	    then:                      # the actions, run in order ([] = do nothing)
//	      - reply: "We are open 9:00-18:00."
//	tests: […]                     # optional conversation tests, see below
//
// Keys are snake_case and closed: an unknown key is an error (with a suggestion when it
// looks like a typo). YAML anchors and aliases may be used to share pieces.
//
// A message is matched by the first rule whose `when` is true; that rule's actions run
// and the search stops, unless the rule has `continue: true`, in which case the search
// goes on with the rules below it (which see any variables it `set`). A rule without
// `when` matches every message. If no rule matches, the message is left to the bot's
// other handlers (see [Set.Install]). Messages typed by servicers in WeCom (origin 5)
// never reach rules.
//
// While a person owns the conversation (a servicer picked it up or typed in it, or a rule
// transferred it), the customer's messages run only the rules with `while_human: true`
// (their replies are refused; `set`, `transfer: end` and the like work), and no other:
// no reply, no variable changes. The `handback` section (bot.Handback) says how the
// conversation comes back: WeCom is asked whether the person still owns it when the
// customer writes, and the timeouts end sessions nobody attends; the binary's
// handback_* settings override it field by field. A change to it takes effect at
// restart, not on reload.
//
// # Callback rules
//
// A rule with `callback` handles the WeCom callback notifications that are not KF
// messages (see package kf/callback) instead: `callback: change_external_contact` (or a
// list of kinds). Its `when` sees `event` — event.kind, event.change_type, event.corp,
// event.user_id (the member), event.external_user_id, event.state (the 「联系我」 code's
// state, so each QR code can get its own welcome), event.welcome_code (true when a
// welcome may be sent), event.source, event.fail_reason, event.chat_id, event.tag_id,
// event.link_id, event.time — `now`, and `contact`: the customer of an external-contact
// change (externalcontact/get, fetched only when some expression reads it, bounded at 3
// seconds: a failure leaves it empty and is logged) — contact.name, contact.type (1
// WeChat, 2 WeCom user), contact.gender, contact.unionid, contact.corp_name,
// contact.position, contact.remark, contact.description and contact.tags (what the
// event's member noted) and contact.follow_users. `msg`, `customer` and the session are
// empty.
// Callback rules are tried in file order among themselves (KF rules never see
// notifications, and a callback rule never sees a KF message); the first whose `when`
// holds runs, and later ones too while they have `continue: true`. Their actions:
//
//	then:
//	  - set: {greeting: '"Hi " + event.external_user_id'}   # session.vars of this notification only
//	  - welcome: "Welcome!"                                # externalcontact/send_welcome_msg
//	  - welcome:
//	      text: "{{ session.vars.greeting }}"              # ≤ 4000 bytes
//	      attachments:                                     # up to 9
//	        - image: {file: banner.png}                    # or {media_id: …} or {pic_url: …}
//	        - link: {title: "Shop", url: "https://…", desc: "…", picurl: "https://…"}
//	        - miniprogram: {title: "Mall", appid: wx123, page: "/index", pic_file: cover.png}   # or pic_media_id
//	        - video: {file: tour.mp4}                      # or {media_id: …}
//	        - file: {file: price-list.pdf}                 # or {media_id: …}
//	  - handler: my_go_handler                             # bot.Context.Notification() is the event
//
// A welcome needs the event's welcome code and is sent within its 20 seconds (counted
// from when the router received the callback); an older code, or none, is skipped
// without a call and logged. Files are uploaded once and reused, as for replies. A
// webhook posts the event (msgtype "callback", `event` with the fields above and the
// XML) and acts on an answer's `set` (for the later rules) and `welcome` (a text); its
// fallback text is sent as the welcome. reply, transfer and ai need a KF conversation
// and are load errors in a callback rule.
//
// # Customer profiles
//
// `customer.nickname`, `customer.avatar`, `customer.gender` (0 unknown, 1 male, 2
// female) and `customer.unionid` are the customer's WeChat profile (kf/customer/batchget).
// They are fetched only when some expression of the file reads them: then the profiles of
// a page's new customers are fetched before the page is handled, 100 per call, and kept in
// the session for a day (bot.WithProfileTTL). A failure to fetch leaves them empty and is
// logged; it never holds a reply back.
//
// # Actions
//
// reply sends a message to the customer (kf/send_msg). A string is a text; otherwise
// exactly one of:
//
//	reply: "Hello {{ session.vars.name ?? \"friend\" }}"     # text (long texts are split)
//	reply: {text: "Hello"}
//	reply:
//	  menu:
//	    head: "How can we help?"                             # optional
//	    items:                                               # 1 to 10
//	      - click: {id: hours, text: "Opening hours"}        # tapping sends a text with menu_id "hours"
//	      - view: {url: "https://example.com/faq", text: "FAQ"}
//	      - miniprogram: {appid: wx123, pagepath: pages/index, text: "Shop"}
//	      - text: {text: "Or type your question", no_newline: false}   # or text: "…"
//	    tail: "We reply within a minute."                    # optional
//	reply: {image: {media_id: "…"}}                          # or {file: images/map.png}; JPG/PNG, ≤ 10 MB
//	reply: {image: {file: "https://example.com/map.png"}}    # file also takes an https URL
//	reply: {voice: {file: greeting.amr}}                     # or {media_id: "…"}; AMR, ≤ 2 MB
//	reply: {video: {file: tour.mp4}}                         # or {media_id: "…"}; MP4, ≤ 10 MB
//	reply: {file: {file: price-list.pdf}}                    # or {media_id: "…"}; ≤ 20 MB
//	reply: {link: {title: "…", desc: "…", url: "https://…", thumb_media_id: "…"}}   # or thumb_file
//	reply: {miniprogram: {appid: wx123, title: "…", pagepath: "pages/index", thumb_file: cover.png}}
//	reply: {location: {name: "…", address: "…", latitude: 31.23, longitude: 121.48}}
//
// A `file` or `thumb_file` is a local file or an https URL. A local file (relative to
// the rule file) must exist at load and be one WeCom takes (the size and format limits
// of [kf.MediaType.Check]). A URL must be https (plain http only to a loopback host such
// as 127.0.0.1, for tests; anything else is a load error, so `kfbot rules check` catches
// it); it is fetched when first used, and its size (by Content-Length and while
// streaming) and format (by the file name from Content-Disposition or the URL's path)
// are checked then: a failure fails that reply, and the next reply tries again. Either
// is uploaded as temporary media of its reply's type on first use and its media_id
// reused until an hour before it expires (3 days) or, for a file, the file changes. The
// uploads go through the bot's media cache ([bot.Bot.Media]), shared with Go handlers
// that call [bot.Context.ReplyMedia], unless [WithUploader] gives the set its own; see
// [bot.MediaCache]. A reply the conversation does not allow (quota, human servicer) is
// refused before anything is fetched or uploaded, a link's or mini program's thumbnail
// included.
//
// welcome sends a text (a string or {text: …}) or a {menu: …} with the event's code
// (kf/send_msg_on_event): the welcome_code of an enter_session event or the msg_code of a
// session_status_change. Without a code (WeCom gives none when the customer wrote in the
// last 48 hours) or with an expired one, the welcome is skipped and logged.
//
// transfer hands the conversation over: `transfer: pool` to the waiting pool of human
// servicers, `transfer: {servicer: userid}` to one servicer (who must be receiving),
// `transfer: end` ends it — WeCom documents ending only for a conversation a servicer
// holds (state 3); from other states it answers 95016.
//
// set assigns session variables, each from an expression, in order:
//
//	then:
//	  - set: {misses: '(session.vars.misses ?? 0) + 1', name: 'trimPrefix(msg.text, "my name is ")'}
//
// A value that is nil (or written as `~`) deletes the variable. Names are identifiers.
// Variables are stored as JSON, so numbers read back as floats.
//
// handler calls a Go handler registered with [WithHandler]: `handler: create_ticket`.
// Naming one that is not registered is a load error.
//
// ai answers with the model ([WithModel]; the binary's KFBOT_AI_*): `ai: {}`, or with
// overrides of the file's `ai` section: `ai: {model: qwen-max, prompt: "…", fallback: "…"}`.
// The section (top level, beside handback) holds the settings: model, prompt (a
// text/template over .Now, .OpenKFID, .ExternalUserID, .Customer, .Vars), temperature,
// max_tokens, max_parts, merge_window, timeout, fallback, handoff_on_failure, handoff,
// handoff_servicer, handoff_notice, notice, notice_after, stream, images, image_text,
// voice_text, context_turns, context_bytes, clear_words, cleared_text, vars,
// max_tool_calls, accounts: {open_kfid: {…overrides…}} (see package ai's Settings),
// and tools: HTTP endpoints the model may call, each {name, description, url,
// secret_env, parameters (a JSON schema of type object), timeout, retries}; a call POSTs
// a [ToolRequest] (tool, arguments, open_kfid, external_userid, msgid), signed like a
// webhook, and the model reads the answer (at most 16 KiB).
//
// webhook posts the message to a URL and acts on the JSON it answers:
//
//   - webhook:
//     url: https://hooks.example.com/kf   # https (http only to loopback, for tests)
//     secret_env: KFBOT_WEBHOOK_SECRET    # the HMAC key's environment variable (required)
//     timeout: 5s                         # per attempt, at most 30s
//     retries: 2                          # network errors, 429 and 5xx; 0–5
//     fallback: "Sorry, try again later." # a reply, sent when the webhook fails
//
// The request is a [WebhookRequest] (version, corp_id, open_kfid, external_userid,
// msgid, msgtype, text, message — the sync_msg item —, vars, customer, replies_left)
// with the headers X-Kfbot-Timestamp, X-Kfbot-Delivery (the same for every attempt for
// one message: receivers use it to act once) and X-Kfbot-Signature
// ("sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body); [VerifyWebhook] checks
// it). The answer is a [WebhookAnswer]: {"replies": [{"text": "…"}], "set": {"var": value},
// "transfer": "pool" | "end" | {"servicer": "userid"}}, at most 64 KiB; unknown fields are
// ignored (and logged). Invalid JSON, a non-2xx status after the retries or a timeout
// sends the fallback.
//
// A rule with an ai or webhook action runs its actions on the conversation's lane
// (bot's Context.Defer): a slow model or webhook holds up no other conversation. The
// answer is remembered (bot's Context.Remember) before it is acted on, so a replay
// after a crash acts on the same answer, once.
//
// An action that fails stops its rule; the error, naming the rule, goes to the bot's
// error handler. A reply the engine refuses without calling WeCom (the 5-replies quota,
// the 48-hour window, a human owns the conversation) is logged and the next action runs.
//
// # Expressions
//
// `when` (a bool), `set` values and `{{ }}` placeholders are [expr] expressions,
// compiled once at load against the typed environment [Env]: an unknown name, a type
// error, a bad regular expression, a `when` that is not a bool, or an expression larger
// than [WithMaxNodes] fails the load, reported at its line and column in the file.
// Evaluation is bounded by [WithMemoryBudget]; a `when` that fails at run time counts as
// false (and is logged).
//
//	msg.type           "text", "image", "voice", "video", "file", "location", "link",
//	                   "miniprogram", "msgmenu", …, or "event"
//	msg.event          "enter_session", "session_status_change", "msg_send_fail", … ("" if not an event)
//	msg.text           a text's content (also of a menu click)
//	msg.menu_id        the id of the tapped menu item
//	msg.media_id       of an image, voice, video or file
//	msg.msgid, msg.open_kfid, msg.external_userid, msg.servicer_userid
//	msg.origin         3 customer, 4 event
//	msg.send_time      a time
//	msg.scene, msg.scene_param      of enter_session
//	msg.change_type    of session_status_change: 1 picked up, 2 transferred, 3 ended, 4 re-entered
//	msg.fail_type      of msg_send_fail
//	session.vars       a map: session.vars.name, session.vars.name ?? "friend", "name" in session.vars
//	session.messages   customer messages so far, this one included
//	session.first_seen, session.last_seen   times
//	session.human      a person owns the conversation
//	now                the current time in the file's `timezone` ([WithClock], [WithLocation])
//
// Besides expr's builtins (lower, upper, trim, trimPrefix, split, replace, len, any, …
// and the operators contains, startsWith, endsWith, matches, in, ??), these helpers
// exist:
//
//	hour(t) int, minute(t) int      0–23, 0–59
//	weekday(t) int                  0 Sunday … 6 Saturday: weekday(now) in 1..5
//	clock(t) string                 "15:04"
//	ymd(t) string                   "2006-01-02"
//	between(t, "09:00", "18:00")    clock(t) in [from, to); a range may cross midnight
//
// YAML reads ` #` as the start of a comment and treats a value starting with one of
// [ { * & ! | > ' " % @ ` specially: quote such expressions ('len(map(xs, # * 2)) > 0'),
// or write them as a block (when: >- …).
//
// The builtin now() is disabled: use the variable `now`, which tests can fix. The
// pattern of `matches` must be a string literal, compiled once at load; use
// "(?i)…" for case-insensitive patterns.
//
// Expressions stay within a memory budget: a string built by repeat, replace, join or +
// may be at most [MaxExprString] bytes (the call fails, and a `when` counts as false),
// and inside the predicate of a loop (map, filter, reduce, all, …) a call that builds a
// string or a list (repeat, split, upper, toJSON, +, …) is refused at load.
//
// Inside any text of an action, `{{ expression }}` is replaced by the expression's
// value: nil as nothing, numbers without exponent, times as "2006-01-02 15:04:05".
//
// # Speed
//
// Rules are indexed by cheap facts read from each `when`: msg.type, msg.event and
// msg.menu_id compared with literals, and literal keywords that msg.text (or
// lower(msg.text), trim(…)) must contain, equal, start or end with, or be `in`. A
// message evaluates only the rules whose facts it meets — found with one Aho–Corasick
// pass over its text — in file order, so the result is exactly that of trying every
// rule. A rule whose `when` gives no such fact (for example one built only from
// session variables or `matches`) is tried for every message. Write
// `msg.type == "text" && msg.text contains "refund"` rather than a regular expression
// when a keyword will do.
//
// # Conversation tests
//
//	tests:
//	  - name: a customer asks for opening hours
//	    now: "2026-11-23T10:00:00+08:00"      # optional: `now` during the test
//	    user: wmCustomer                      # optional: external_userid; open_kfid: optional too
//	    steps:
//	      - enter: {scene: ad, scene_param: x}   # an enter_session event ({} or a scene string)
//	        expect: {welcome: "Hi! How can we help?"}
//	      - click: hours                      # a menu click: the item's text with menu_id hours
//	        expect: {reply: ["We are open 9:00-18:00."]}
//	      - say: "human please"               # a text
//	        expect: {reply: ["Connecting you…"], transfer: pool, vars: {misses: 0}}
//	      - image: photo1                     # an image (a media id)
//	        now: "2026-11-23T19:00:00+08:00"  # optional: `now` from this step on
//	        expect: {none: true}              # nothing sent, no transfer
//	      - voice: v1                         # a voice message (a media id; optional)
//	      - file:                             # a file (media id optional)
//	      - location: {name: Office, address: "1 Road", latitude: 31.2, longitude: 121.4}
//	      - servicer_pick_up: alice           # a servicer takes the chat from the pool
//	        expect: {none: true, vars: {picked: true}}   # none may go with vars
//	      - servicer_end: true                # the servicer ends the conversation
//	      - add_contact: qr-a                 # a member adds the customer through a 「联系我」 code
//	        expect: {welcome: ["Thanks!", "[link]"]}   # send_welcome_msg: the text, then "[msgtype]" per attachment
//	    model:                                # what the model answers this test's ai actions, in order
//	      - say: "Your order ships tomorrow."
//	      - call: transfer_to_human           # a tool call, with args
//	        args: {reason: refund}
//	      - fail: "the model is down"         # the model fails (the fallback is sent)
//
// Package [github.com/kfbot/kfbot/rules/rulestest] runs the tests (`kfbot rules test`
// does), each through a real engine with an in-memory store, against a fresh fake WeCom
// server (kf/kftest). After each step the messages the bot sent are compared with
// `expect`, in order: `welcome` (sent with the event code) and `reply` (sent with
// send_msg), each a string or a list, compared by text (a menu by its head, a link or
// mini program card by its title, a location by its name, an image as "[image]");
// `transfer` (pool, end or {servicer: id}); and `vars`, session variables compared as
// JSON. Whatever `expect` does not list must not happen; a step without `expect` checks
// only that no action failed, and that no `when` failed at run time (a failing `when`
// counts as false in production; in a test it fails the step, naming the rule and the
// error). Tests can also live in a separate file ([LoadTests], rulestest.RunFile). Such a
// tests-only file needs `version: 1`, `rules_file:` naming the rule file (relative to
// the tests file's directory) and `tests:`, and must not have `rules:`; the rule file is
// loaded with the options the tests run with, so handlers its rules name must be
// registered ([WithHandler]) there too. rulestest reports
// `FAIL test "…", step 2 (click hours): reply[0]: got "…", want "…"` and ends with a line
// `N passed, M failed`.
//
// # Errors
//
// Load reports every problem at once, sorted by position, as the errors.Join of
// [*Error] values such as
//
//	rules.yaml:12:33: rule "hours": unknown name foo
//
// each matching one of ErrSyntax, ErrVersion, ErrUnknownKey, ErrUnknownAction,
// ErrUnknownHandler, ErrDuplicateRule, ErrExpr, ErrDynamicRegex, ErrInvalid or ErrFile
// with errors.Is. [Errors] lists them.
//
// Some mistakes are sure to fail and are errors: two menu clicks with one id in one menu,
// a constant link or view URL that is not absolute http(s), a welcome action in a rule
// whose when only matches text messages (welcome needs an enter_session event), an
// unknown key. Others load, because a valid file may mean them, and are warnings
// ([Set.Warnings], ErrSuspicious; `kfbot rules check` prints them and still passes):
// a menu click without an id (its tap cannot be told from typed text) and a rule after a
// catch-all (a rule with no when, or when: true, and no continue: true), which no
// message reaches.
//
// [expr]: https://expr-lang.org/docs/language-definition
package rules
