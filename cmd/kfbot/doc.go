// Kfbot is the kfbot binary: it serves a WeChat Customer Service (WeCom KF) chatbot
// from a YAML rule file, simulates conversations in the terminal without WeCom, and
// checks and tests rule files.
//
//	kfbot run [flags]               serve the bot
//	kfbot simulate [-rules FILE]    chat with the rules as a customer, against a fake WeCom
//	kfbot simulate -script FILE     run a scripted conversation, print the transcript
//	kfbot rules check [FILE...]     compile rule files, list every problem, exit 1 if any
//	kfbot rules test [FILE...]      run their conversation tests, end with "N passed, M failed"
//	kfbot transcripts export -since D  export stored conversation turns (jsonl or csv)
//	kfbot version                   print the version
//
// Exit codes: 0 success; 1 a runtime failure, a rule file with problems or a failing
// test; 2 a bad command line or configuration.
//
// # kfbot run
//
// Settings come from an optional YAML file (-config FILE, else $KFBOT_CONFIG), then the
// environment, then flags; later ones win. The file's keys are the environment names in
// snake_case without the prefix:
//
//	environment              flag                 file key          default
//	KFBOT_CORP_ID            -corp-id             corp_id           (required)
//	KFBOT_SECRET             —                    secret            (required, secret)
//	KFBOT_CONTACT_SECRET     —                    contact_secret    secret (secret; for 客户联系 welcomes when secret lacks it)
//	KFBOT_CALLBACK_TOKEN     —                    callback_token    (required, secret)
//	KFBOT_ENCODING_AES_KEY   —                    encoding_aes_key  (required, secret, 43 characters)
//	KFBOT_API_BASE           -api-base            api_base          https://qyapi.weixin.qq.com
//	KFBOT_LISTEN             -listen, -addr       listen            :8080 (port 0: any free port)
//	KFBOT_ADMIN_LISTEN       -admin-listen        admin_listen      none (metrics on KFBOT_LISTEN)
//	KFBOT_PPROF              -pprof               pprof             false (/debug/pprof/ on KFBOT_ADMIN_LISTEN)
//	KFBOT_METRICS_TOKEN      —                    metrics_token     none (secret; bearer token for /metrics)
//	KFBOT_DATA_DIR           -data, -data-dir     data_dir          ./data (Badger)
//	KFBOT_RULES              -rules               rules             rules.yaml
//	KFBOT_RULES_WATCH        -rules-watch         rules_watch       true (reload when the file changes)
//	KFBOT_LOG_LEVEL          -log-level           log_level         info (debug, info, warn, error)
//	KFBOT_LOG_FORMAT         -log-format          log_format        text (text, json; to standard error)
//	KFBOT_CONCURRENCY        -concurrency         concurrency       16 conversations at once
//	KFBOT_PAGES_IN_FLIGHT    -pages-in-flight     pages_in_flight   4 pages of one account at once (1–64)
//	KFBOT_COLD_START_AGE     -cold-start-age      cold_start_age    5m (0: answer all history)
//	KFBOT_SHUTDOWN_TIMEOUT   -shutdown-timeout    shutdown_timeout  10s
//	KFBOT_POLL_INTERVAL      -poll-interval       poll_interval     0 (off)
//	KFBOT_HANDBACK_CHECK_INTERVAL -handback-check-interval handback_check_interval 30s (service_state/get per conversation at most this often)
//	KFBOT_HANDBACK_POOL_TIMEOUT   -handback-pool-timeout   handback_pool_timeout   off (end pooled sessions older than this)
//	KFBOT_HANDBACK_IDLE_TIMEOUT   -handback-idle-timeout   handback_idle_timeout   off (end sessions no servicer wrote in for this long)
//	KFBOT_HANDBACK_CLOSING_TEXT   -handback-closing-text   handback_closing_text   none (sent when a timeout ends a session)
//	KFBOT_TRANSCRIPTS        -transcripts         transcripts       off (on, bot_turns: keep conversation transcripts)
//	KFBOT_TRANSCRIPT_TTL     -transcript-ttl      transcript_ttl    48h
//	KFBOT_TRANSCRIPT_MAX_TURNS -transcript-max-turns transcript_max_turns 200 per conversation
//	KFBOT_AI_BACKEND         -ai-backend          ai_backend        openai (any OpenAI-compatible API; dify)
//	KFBOT_AI_BASE_URL        -ai-base-url         ai_base_url       none (required when the rules use ai actions)
//	KFBOT_AI_API_KEY         —                    —                 none (secret; environment only)
//	KFBOT_AI_MODEL           -ai-model            ai_model          none (the rule file's ai.model overrides it)
//	KFBOT_AI_TIMEOUT         -ai-timeout          ai_timeout        the rule file's ai.timeout, else 30s
//	KFBOT_AI_CONCURRENCY     -ai-concurrency      ai_concurrency    16 model calls at once
//	KFBOT_AI_EXTRA_BODY      -ai-extra-body       ai_extra_body     none (JSON object added to each request)
//	KFBOT_ACCOUNTS           -accounts            accounts          none (comma-separated open_kfids)
//	KFBOT_PLUGINS            -plugins             plugins           none (comma-separated names)
//
// Secrets have no flags and are never printed: log lines and error messages say "set"
// or "missing". In the file, `${NAME}` inside a value is replaced by the environment
// variable NAME (an unset one is an error), so secrets can stay out of it. Unknown keys
// are errors. Relative `rules` and `data_dir` paths in the file are relative to the
// file. Every problem of a configuration, including the rule file's compile errors and
// plugin settings, is reported in one message, and the command exits 2.
//
// Plugins are built-in middlewares chosen by name, in order, each with its settings:
//
//	plugins:
//	  - recover                      # reply: text sent when a handler panics
//	  - name: logger                 # level, error_level
//	  - name: ratelimit              # every (1s), burst (5), idle_ttl (10m), reply
//	    every: 2s
//	  - name: allow                  # open_kfids, external_userids: only these pass
//	    external_userids: [wmTeam1]
//	  - name: block                  # open_kfids, external_userids: these are dropped
//	  - name: business_hours         # timezone (Asia/Shanghai), days (mon-fri), open (09:00),
//	    reply: "We are closed."      # close (18:00), reply, hand_off (false)
//
// KFBOT_PLUGINS or -plugins picks plugins by name, in order, keeping each one's settings
// from the file.
//
// Endpoints: GET and POST /callback (the URL to configure in WeCom), GET /healthz (200
// once the store is open and the bot runs: the listener serves only from then on),
// GET /readyz (503 with the reason while starting, draining or while the credentials
// fail) and GET /metrics (Prometheus; every name starts with kfbot_). The bound address is
// logged ("kfbot: listening", addr). With KFBOT_ADMIN_LISTEN, /metrics moves to that
// address, which also serves /healthz, /readyz and, with KFBOT_PPROF, /debug/pprof/ (its
// address is logged as "kfbot: admin listening"). KFBOT_METRICS_TOKEN makes /metrics
// require "Authorization: Bearer <token>" wherever it is served. Slow clients are cut off
// (router.NewServer and router.LimitListener: 5 s for the headers, 10 s for the whole
// request, 16 KiB of headers, 1,024 connections).
//
// Start-up check: kfbot run fetches an access token at start. When WeCom refuses it (a
// wrong KFBOT_SECRET, 40001; an IP missing from the app's 企业可信IP, 60020; an app not
// authorised for 微信客服) or KFBOT_API_BASE cannot be reached, the reason and what to do
// are logged once at Error; kfbot keeps running and answering callbacks, and /readyz is
// 503 with the reason until a pull succeeds.
//
// Signals: SIGTERM or SIGINT stops accepting callbacks, lets in-flight handlers finish
// (shutdown_timeout), closes the store and exits 0. SIGHUP reloads the rule file; a
// file with errors is logged and the current rules stay.
//
// # kfbot simulate
//
// Starts the fake WeCom server of package kf/kftest and the real engine on it, with an
// in-memory store, and lets a person chat as a customer: the welcome is shown on
// start, menu click items are numbered and tapped by typing the number, links and
// mini programs are shown as links, and hand-offs are shown as "— transferred to the
// waiting pool … —" or "— conversation ended —". /image, /enter, /end, /add [STATE] (a
// member adds the customer as an external contact: the callback rules' welcome), /help
// and /quit are commands. -script FILE (or - for standard input) reads the customer's lines from
// a file, skipping blank lines and # comments, and prints the transcript. -now fixes
// the clock for reproducible transcripts. The rule file is -rules, else $KFBOT_RULES,
// else rules.yaml.
package main
