package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kfbot/kfbot/ai"
	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/callback"
	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/rules"
	"github.com/kfbot/kfbot/storage"
)

// Defaults of `kfbot simulate`.
const (
	simOpenKFID       = "wkSimulatedKF"
	simExternalUserID = "wmSimulatedCustomer"
)

const simulateUsage = `Usage: kfbot simulate [-rules FILE] [-script FILE] [-now TIME]

Chat with your rules as a customer, in the terminal, without WeCom: an embedded fake
WeCom server (kf/kftest) and the real engine run in process. The chat opens with the
welcome; type a message, or the number of a menu item to tap it. Commands:
  /image [MEDIA_ID]   send a picture
  /voice [MEDIA_ID]   send a voice message
  /file [MEDIA_ID]    send a file
  /location [NAME]    send a location
  /enter [SCENE]      open the chat again (an enter_session event)
  /end                a servicer ends the conversation in WeCom
  /help               this list
  /quit               leave (so does end of input)

With -config FILE the plugins of that kfbot run config file run too (and its rules
file, unless -rules is given). With -v each answer says which rule gave it.

With -script FILE every line of FILE (blank lines and # comments skipped) is what the
customer types, and the transcript is printed; '-' reads the script from standard input.

Flags:
`

// simulateCmd is `kfbot simulate`.
func (m *Main) simulateCmd(ctx context.Context, args []string) error {
	fset := flag.NewFlagSet("kfbot simulate", flag.ContinueOnError)
	fset.SetOutput(m.Stderr)
	rulesPath := fset.String("rules", "", "rule `file` (default $KFBOT_RULES, else "+DefaultRules+")")
	script := fset.String("script", "", "run the customer lines of `file` non-interactively and print the transcript ('-': standard input)")
	nowFlag := fset.String("now", "", "fix the clock at this RFC 3339 `time` (e.g. 2026-11-23T10:00:00+08:00) for reproducible transcripts")
	scene := fset.String("scene", "", "`scene` of the opening enter_session event (the contact link's scene)")
	user := fset.String("user", simExternalUserID, "the customer's external_userid")
	kfid := fset.String("open-kfid", simOpenKFID, "the KF account's open_kfid")
	logLevel := fset.String("log-level", "warn", "engine log level on standard error: debug, info, warn or error")
	configPath := fset.String("config", "", "a kfbot run config `file`: its plugins run in the simulator (and its rules, unless -rules)")
	verbose := fset.Bool("v", false, "show which rule (or other handler) answered each message")
	fset.Usage = func() {
		fmt.Fprint(fset.Output(), simulateUsage)
		fset.PrintDefaults()
	}
	if err := parseFlags(fset, "simulate", args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fset.NArg() > 0 {
		return &usageError{msg: fmt.Sprintf("simulate: unexpected argument %q (use -rules FILE)", fset.Arg(0))}
	}
	if _, ok := logLevels[strings.ToLower(*logLevel)]; !ok {
		return &usageError{msg: fmt.Sprintf("simulate: -log-level %q is not one of debug, info, warn, error", *logLevel)}
	}
	var mws []bot.Middleware
	path := *rulesPath
	if *configPath != "" {
		cfgRules, built, err := simulateConfig(*configPath, m.LookupEnv)
		if err != nil {
			return err
		}
		mws = built
		if path == "" {
			path = cfgRules
		}
	}
	if path == "" {
		path, _ = m.LookupEnv("KFBOT_RULES")
	}
	if path == "" {
		path = DefaultRules
	}
	clock := time.Now
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			return &usageError{msg: fmt.Sprintf("simulate: -now %q is not an RFC 3339 time such as 2026-11-23T10:00:00+08:00", *nowFlag)}
		}
		clock = func() time.Time { return t }
	}

	var in io.Reader = m.Stdin
	interactive := *script == ""
	if !interactive && *script != "-" {
		f, err := os.Open(*script)
		if err != nil {
			return &usageError{msg: fmt.Sprintf("simulate: script: %v", err)}
		}
		defer f.Close()
		in = f
	}

	logger := newLogger(m.Stderr, *logLevel, "text")
	var answered []string // the rules that ran for the current step
	model, modelName, err := m.simulatedModel()
	if err != nil {
		return &usageError{msg: "simulate: " + err.Error()}
	}
	set, err := rules.LoadFile(path, rules.WithClock(clock), rules.WithLogger(logger), rules.WithModel(model),
		rules.WithRuleFunc(func(_ *bot.Context, rule string) { answered = append(answered, rule) }))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &usageError{msg: fmt.Sprintf("simulate: rule file %s not found; pass -rules FILE (examples/rules.yaml in the kfbot repository is a complete example)", path)}
		}
		for _, e := range rules.Errors(err) {
			fmt.Fprintln(m.Stderr, e)
		}
		return &silentError{code: exitFailed}
	}

	sim, err := newSimulator(set, clock, logger, *kfid, *user, mws)
	if err != nil {
		return err
	}
	defer sim.close()
	sim.out = m.Stdout
	if *verbose {
		// Pull handles the step's messages before it returns, so the list is the step's.
		sim.before = func() { answered = answered[:0] }
		sim.after = func(sent int) {
			switch {
			case len(answered) > 0:
				fmt.Fprintf(m.Stdout, "%s(rule %s)\n", indent, strings.Join(quoteAll(answered), ", then "))
			case sent > 0:
				fmt.Fprintf(m.Stdout, "%s(no rule matched: a plugin or Go handler answered)\n", indent)
			default:
				fmt.Fprintf(m.Stdout, "%s(no rule matched)\n", indent)
			}
		}
	}

	if interactive {
		fmt.Fprintf(m.Stderr, "kfbot simulate: %s (%d rules), customer %s on %s. Type a message, a menu number, /help or /quit.\n",
			path, set.Len(), *user, *kfid)
	}
	if set.UsesAI() {
		fmt.Fprintf(m.Stderr, "kfbot simulate: ai actions ask %s\n", modelName)
	}
	if err := sim.enter(ctx, *scene); err != nil {
		return err
	}
	lines := readLines(in)
	for {
		if interactive {
			fmt.Fprint(m.Stdout, "you> ")
		}
		var (
			line string
			ok   bool
		)
		select {
		case <-ctx.Done():
			if interactive {
				fmt.Fprintln(m.Stdout)
			}
			return nil
		case line, ok = <-lines.c:
		}
		if !ok {
			if interactive {
				fmt.Fprintln(m.Stdout)
			}
			return lines.err
		}
		line = strings.TrimSpace(line)
		if line == "" || (!interactive && strings.HasPrefix(line, "#")) {
			continue
		}
		if !interactive {
			fmt.Fprintf(m.Stdout, "you> %s\n", line)
		}
		quit, err := sim.input(ctx, line)
		if err != nil || quit {
			return err
		}
	}
}

// lineReader delivers the lines of a reader on a channel, so that a blocked terminal
// read does not keep Ctrl-C from ending the simulation. err is set before c closes.
type lineReader struct {
	c   chan string
	err error
}

func readLines(r io.Reader) *lineReader {
	lr := &lineReader{c: make(chan string)}
	go func() {
		defer close(lr.c)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lr.c <- sc.Text()
		}
		lr.err = sc.Err()
	}()
	return lr
}

// simulator is a fake WeCom server with one customer, and the engine on it.
type simulator struct {
	srv        *kftest.Server
	b          *bot.Bot
	store      *storage.Memory
	kfid, user string
	out        io.Writer
	clicks     []menuClick // click items of the last menu, numbered from 1
	clock      func() time.Time
	// before and after, when set, run around each step (after with the number of
	// messages the bot sent), for -v.
	before func()
	after  func(sent int)
}

type menuClick struct{ id, text string }

func newSimulator(set *rules.Set, clock func() time.Time, logger *slog.Logger, kfid, user string, mws []bot.Middleware) (*simulator, error) {
	srv := kftest.NewUnstartedServer(kftest.WithClock(clock), kftest.WithSeed(1))
	client := kf.NewClient(srv.CorpID(), srv.Secret(), kf.WithBaseURL("http://kftest.invalid"),
		kf.WithHTTPClient(&http.Client{Transport: srv.Transport()}), kf.WithLogger(logger), kf.WithClock(clock))
	store := storage.NewMemory(storage.WithClock(clock))
	b, err := bot.New(client, store, bot.WithLogger(logger), bot.WithClock(clock), bot.WithColdStartAge(0))
	if err != nil {
		srv.Close()
		return nil, err
	}
	if len(mws) > 0 {
		b.Use(mws...)
	}
	if err := b.Install(set); err != nil {
		srv.Close()
		return nil, err
	}
	return &simulator{srv: srv, b: b, store: store, kfid: kfid, user: user, out: io.Discard, clock: clock}, nil
}

func (s *simulator) close() {
	s.srv.Close()
	_ = s.store.Close()
}

// input handles one line the customer typed; quit reports /quit.
func (s *simulator) input(ctx context.Context, line string) (quit bool, err error) {
	if strings.HasPrefix(line, "/") {
		cmd, arg, _ := strings.Cut(line, " ")
		arg = strings.TrimSpace(arg)
		switch cmd {
		case "/quit", "/exit":
			return true, nil
		case "/help":
			fmt.Fprint(s.out, simHelp)
			return false, nil
		case "/image":
			if arg == "" {
				arg = "simulated-picture"
			}
			return false, s.step(ctx, func() { s.srv.AddImage(s.kfid, s.user, arg) }, "")
		case "/voice", "/file":
			typ := cmd[1:]
			if arg == "" {
				arg = "simulated-" + typ
			}
			return false, s.step(ctx, func() {
				s.srv.AddCustomerMessage(s.kfid, s.user, typ, map[string]string{"media_id": arg})
			}, "")
		case "/location":
			if arg == "" {
				arg = "Simulated place"
			}
			return false, s.step(ctx, func() {
				s.srv.AddCustomerMessage(s.kfid, s.user, "location", map[string]any{
					"name": arg, "address": "", "latitude": 31.2304, "longitude": 121.4737})
			}, "")
		case "/enter":
			return false, s.enter(ctx, arg)
		case "/end":
			return false, s.step(ctx, func() { s.srv.ServicerEnd(s.kfid, s.user) }, "— a servicer ends the conversation in WeCom —")
		case "/add":
			return false, s.addContact(ctx, arg)
		default:
			// "//text" sends "/text"; an unknown command is most likely a typo.
			if !strings.HasPrefix(line, "//") {
				fmt.Fprintf(s.out, "unknown command %s (to send it as text, type /%s)\n%s", cmd, line, simHelp)
				return false, nil
			}
			line = line[1:]
		}
	}
	if n, err := strconv.Atoi(line); err == nil && n >= 1 && n <= len(s.clicks) {
		c := s.clicks[n-1]
		return false, s.step(ctx, func() { s.srv.AddMenuClick(s.kfid, s.user, c.id, c.text) },
			fmt.Sprintf("     (tapped %s)", c.text))
	}
	return false, s.step(ctx, func() { s.srv.AddText(s.kfid, s.user, line) }, "")
}

const simHelp = "Type a message, or the number of a menu item to tap it.\n" +
	"/image, /voice, /file [MEDIA_ID] send media, /location [NAME] a place,\n" +
	"/enter [SCENE] opens the chat again, /end lets a servicer end the conversation,\n" +
	"/add [STATE] plays a member adding you as an external contact through a 「联系我」 code,\n" +
	"/help shows this, /quit leaves.\n"

// enter opens the chat (an enter_session event) and, when no welcome came, says why.
func (s *simulator) enter(ctx context.Context, scene string) error {
	code := ""
	before := len(s.srv.SentTo(s.kfid, s.user))
	err := s.step(ctx, func() { _, code = s.srv.EnterSession(s.kfid, s.user, scene, "") }, "— you open the chat —")
	if err != nil {
		return err
	}
	for _, m := range s.srv.SentTo(s.kfid, s.user)[before:] {
		if m.Path == "send_msg_on_event" {
			return nil
		}
	}
	if code == "" {
		fmt.Fprintf(s.out, "%s(no welcome: WeCom gives a welcome_code only when the customer has not written and got no welcome in the last 48 hours)\n", indent)
	} else {
		fmt.Fprintf(s.out, "%s(no welcome: no rule with a welcome action matched the enter_session event)\n", indent)
	}
	return nil
}

// simMember is the member who adds the customer in /add.
const simMember = "simulated-member"

// addContact plays /add: a member adds the customer through a 「联系我」 code with state;
// the callback rules answer with a welcome (send_welcome_msg), which is shown.
func (s *simulator) addContact(ctx context.Context, state string) error {
	before := len(s.srv.Welcomes())
	ev := s.srv.AddExternalContact(simMember, s.user, state)
	fmt.Fprintf(s.out, "— %s adds you as an external contact (state %q) —\n", simMember, state)
	n, err := callback.DecodeNotification(ev.XML)
	if err != nil {
		return fmt.Errorf("simulate: the fake's add_external_contact does not decode: %w", err)
	}
	if err := s.b.DispatchCallback(ctx, n, s.clock()); err != nil {
		fmt.Fprintf(s.out, "%s(the callback rules failed: %v)\n", indent, err)
	}
	welcomes := s.srv.Welcomes()[before:]
	if len(welcomes) == 0 {
		fmt.Fprintf(s.out, "%s(no welcome: no callback rule with a welcome action matched the add_external_contact event)\n", indent)
	}
	for _, w := range welcomes {
		for _, line := range strings.Split(w.Text, "\n") {
			if w.Text != "" {
				fmt.Fprintf(s.out, "bot> %s\n", line)
			}
		}
		for _, a := range w.Attachments {
			var t struct {
				MsgType string `json:"msgtype"`
			}
			_ = json.Unmarshal(a, &t)
			fmt.Fprintf(s.out, "bot> [%s]\n", t.MsgType)
		}
	}
	return nil
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strconv.Quote(x)
	}
	return out
}

// simulateConfig reads a kfbot run config file as `kfbot run -config` does and builds
// its plugins. It returns the config's rules file ("" when it names none) and the
// plugins' middlewares.
func simulateConfig(path string, lookup func(string) (string, bool)) (string, []bot.Middleware, error) {
	cfg := DefaultConfig()
	cfg.Rules = ""
	if err := ReadConfigFile(path, &cfg, lookup); err != nil {
		return "", nil, err
	}
	problems := checkPluginNames(cfg.Plugins)
	mws, perrs := buildPlugins(cfg.Plugins)
	if problems = append(problems, perrs...); len(problems) > 0 {
		return "", nil, &ConfigError{Problems: problems}
	}
	return cfg.Rules, mws, nil
}

// step performs act on the fake server, pulls, and prints note, then every message the
// bot sent and any hand-off.
func (s *simulator) step(ctx context.Context, act func(), note string) error {
	before := len(s.srv.SentTo(s.kfid, s.user))
	stateBefore := s.srv.SessionState(s.kfid, s.user)
	if s.before != nil {
		s.before()
	}
	act()
	if note != "" {
		fmt.Fprintln(s.out, note)
	}
	if err := s.b.Pull(ctx, s.kfid); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("simulate: pull: %w", err)
	}
	sent := s.srv.SentTo(s.kfid, s.user)[before:]
	for _, m := range sent {
		s.print(m)
	}
	if s.after != nil {
		s.after(len(sent))
	}
	state := s.srv.SessionState(s.kfid, s.user)
	switch {
	case state == stateBefore:
		if len(sent) == 0 {
			fmt.Fprintln(s.out, "     (no reply)")
		}
	case state == kftest.StatePool:
		fmt.Fprintln(s.out, "— transferred to the waiting pool: a person will answer —")
	case state == kftest.StateHuman:
		fmt.Fprintf(s.out, "— transferred to servicer %s —\n", s.srv.SessionServicer(s.kfid, s.user))
	case state == kftest.StateEnded:
		fmt.Fprintln(s.out, "— conversation ended —")
	case len(sent) == 0:
		fmt.Fprintln(s.out, "     (no reply)")
	}
	return nil
}

// sentBody is the part of a send_msg / send_msg_on_event body the simulator shows.
type sentBody struct {
	MsgType string `json:"msgtype"`
	Text    struct {
		Content string `json:"content"`
	} `json:"text"`
	Menu struct {
		Head string `json:"head_content"`
		List []struct {
			Type  string `json:"type"`
			Click struct {
				ID      string `json:"id"`
				Content string `json:"content"`
			} `json:"click"`
			View struct {
				URL     string `json:"url"`
				Content string `json:"content"`
			} `json:"view"`
			Miniprogram struct {
				AppID    string `json:"appid"`
				PagePath string `json:"pagepath"`
				Content  string `json:"content"`
			} `json:"miniprogram"`
			Text struct {
				Content string `json:"content"`
			} `json:"text"`
		} `json:"list"`
		Tail string `json:"tail_content"`
	} `json:"msgmenu"`
	Link struct {
		Title string `json:"title"`
		Desc  string `json:"desc"`
		URL   string `json:"url"`
	} `json:"link"`
	Miniprogram struct {
		AppID    string `json:"appid"`
		Title    string `json:"title"`
		PagePath string `json:"pagepath"`
	} `json:"miniprogram"`
	Location struct {
		Name      string  `json:"name"`
		Address   string  `json:"address"`
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
	} `json:"location"`
	CALink struct {
		LinkURL string `json:"link_url"`
	} `json:"ca_link"`
}

const indent = "     " // the width of "bot> "

// print shows one message the bot sent.
func (s *simulator) print(m kftest.Sent) {
	var b sentBody
	if err := json.Unmarshal(m.Body, &b); err != nil {
		fmt.Fprintf(s.out, "bot> [%s]\n", m.MsgType)
		return
	}
	var lines []string
	switch m.MsgType {
	case "text":
		lines = strings.Split(b.Text.Content, "\n")
	case "msgmenu":
		s.clicks = s.clicks[:0]
		if b.Menu.Head != "" {
			lines = append(lines, strings.Split(b.Menu.Head, "\n")...)
		}
		for _, it := range b.Menu.List {
			switch it.Type {
			case "click":
				s.clicks = append(s.clicks, menuClick{id: it.Click.ID, text: it.Click.Content})
				lines = append(lines, fmt.Sprintf("[%d] %s", len(s.clicks), it.Click.Content))
			case "view":
				lines = append(lines, fmt.Sprintf("• %s <%s>", it.View.Content, it.View.URL))
			case "miniprogram":
				lines = append(lines, fmt.Sprintf("• %s <mini program %s %s>", it.Miniprogram.Content,
					it.Miniprogram.AppID, it.Miniprogram.PagePath))
			case "text":
				lines = append(lines, strings.Split(strings.ReplaceAll(it.Text.Content, `\n`, "\n"), "\n")...)
			default:
				lines = append(lines, "["+it.Type+"]")
			}
		}
		if b.Menu.Tail != "" {
			lines = append(lines, strings.Split(b.Menu.Tail, "\n")...)
		}
	case "link":
		l := "[link] " + b.Link.Title
		if b.Link.Desc != "" {
			l += " — " + b.Link.Desc
		}
		lines = []string{l + " <" + b.Link.URL + ">"}
	case "miniprogram":
		lines = []string{fmt.Sprintf("[mini program] %s <%s %s>", b.Miniprogram.Title, b.Miniprogram.AppID, b.Miniprogram.PagePath)}
	case "location":
		l := "[location] " + b.Location.Name
		if b.Location.Address != "" {
			l += ", " + b.Location.Address
		}
		lines = []string{fmt.Sprintf("%s (%g, %g)", l, b.Location.Latitude, b.Location.Longitude)}
	case "ca_link":
		lines = []string{"[link] <" + b.CALink.LinkURL + ">"}
	default:
		lines = []string{"[" + m.MsgType + "]"}
	}
	if len(lines) == 0 {
		lines = []string{""}
	}
	fmt.Fprintf(s.out, "bot> %s\n", lines[0])
	for _, l := range lines[1:] {
		fmt.Fprintf(s.out, "%s%s\n", indent, l)
	}
}

// simulatedModel is the model of the simulator's ai actions: the one KFBOT_AI_BASE_URL
// (with KFBOT_AI_MODEL, KFBOT_AI_API_KEY, KFBOT_AI_BACKEND) names, e.g. a local Ollama,
// else a scripted model that echoes the question. name says which.
func (m *Main) simulatedModel() (model ai.Backend, name string, err error) {
	env := func(k string) string { v, _ := m.LookupEnv(k); return strings.TrimSpace(v) }
	cfg := Config{AIBackend: env("KFBOT_AI_BACKEND"), AIBaseURL: env("KFBOT_AI_BASE_URL"), AIAPIKey: env("KFBOT_AI_API_KEY"),
		AIModel: env("KFBOT_AI_MODEL"), AIExtraBody: env("KFBOT_AI_EXTRA_BODY")}
	if p := cfg.checkAI(); len(p) > 0 {
		return nil, "", errors.New(strings.Join(p, "; "))
	}
	if model, err = cfg.aiBackend(); err != nil || model != nil {
		return model, fmt.Sprintf("the model %s at %s", cfg.AIModel, cfg.AIBaseURL), err
	}
	scripted := ai.NewScripted()
	scripted.SetDefault(func(req *ai.Request) ai.Step {
		last := ""
		if n := len(req.Messages); n > 0 {
			last = req.Messages[n-1].Text
		}
		return ai.Say("[scripted model] you said: " + last)
	})
	return scripted, "a scripted model that echoes (set KFBOT_AI_BASE_URL and KFBOT_AI_MODEL for a real one, e.g. a local Ollama at http://127.0.0.1:11434/v1)", nil
}
