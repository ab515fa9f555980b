// mlpeer — a member of a memberlist cluster built on the real Go library
// (Debian's hashicorp/memberlist 0.2.2), for ringtail's interop tests and
// benchmark. Its delegate gossips what the control API gives it and keeps
// what it receives:
//
//	GET  /members       JSON: every node it knows, with its state
//	POST /broadcast     the body is queued as a user broadcast
//	GET  /received      one hex line per user message received
//	PUT  /state         the body becomes the push/pull user state
//	GET  /remote-state  hex of the last push/pull user state received
//	POST /leave         leave gracefully, then exit (SIGTERM: exit without leaving)
//	GET  /arrivals      with -relay: "hex unix_ms" for each message's first arrival
//
// With -relay it passes on every user message the first time it receives
// it, as dskit's memberlist KV passes on a change that altered its store:
// a cluster of them propagates a broadcast the way a KV update travels, for
// the benchmark to set beside gossip-agents.
package main

import (
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/hashicorp/memberlist"
)

type broadcast []byte

func (b broadcast) Invalidates(memberlist.Broadcast) bool { return false }
func (b broadcast) Message() []byte                       { return b }
func (b broadcast) Finished()                             {}

type peer struct {
	mu          sync.Mutex
	queue       *memberlist.TransmitLimitedQueue
	received    [][]byte
	state       []byte
	remoteState []byte
	gone        map[string]string // name -> "dead" or "left"
	list        *memberlist.Memberlist
	relay       bool
	arrived     map[string]int64 // -relay: message -> first arrival, unix ms
	arrivals    []string
}

func (p *peer) NodeMeta(limit int) []byte { return nil }

func (p *peer) NotifyMsg(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := append([]byte(nil), b...)
	p.received = append(p.received, m)
	if !p.relay {
		return
	}
	if _, seen := p.arrived[string(m)]; seen {
		return
	}
	p.arrived[string(m)] = time.Now().UnixMilli()
	p.arrivals = append(p.arrivals, string(m))
	p.queue.QueueBroadcast(broadcast(m))
}

func (p *peer) GetBroadcasts(overhead, limit int) [][]byte {
	return p.queue.GetBroadcasts(overhead, limit)
}

func (p *peer) LocalState(join bool) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

func (p *peer) MergeRemoteState(buf []byte, join bool) {
	p.mu.Lock()
	p.remoteState = append([]byte(nil), buf...)
	p.mu.Unlock()
}

// nodeState mirrors memberlist 0.2.2's private nodeState, whose first
// field is the Node that Members() and the event delegate point into.
// 0.2.2 keeps a node's state in nodeState.State and leaves Node.State
// zero (alive) always, so this is the only way to tell suspect from alive
// and left from dead.
type nodeState struct {
	memberlist.Node
	Incarnation uint32
	State       memberlist.NodeStateType
	StateChange time.Time
}

func stateOf(n *memberlist.Node) string {
	switch (*nodeState)(unsafe.Pointer(n)).State {
	case memberlist.StateAlive:
		return "alive"
	case memberlist.StateSuspect:
		return "suspect"
	case memberlist.StateDead:
		return "dead"
	case memberlist.StateLeft:
		return "left"
	}
	return "unknown"
}

// The event delegate remembers the nodes that are gone (dead or left, both
// end in NotifyLeave), which Members() no longer lists.
func (p *peer) NotifyJoin(n *memberlist.Node)   { p.setGone(n.Name, "") }
func (p *peer) NotifyUpdate(n *memberlist.Node) {}
func (p *peer) NotifyLeave(n *memberlist.Node)  { p.setGone(n.Name, stateOf(n)) }

func (p *peer) setGone(name, state string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if state == "" {
		delete(p.gone, name)
	} else {
		p.gone[name] = state
	}
}

type joins []string

func (j *joins) String() string     { return strings.Join(*j, ",") }
func (j *joins) Set(v string) error { *j = append(*j, strings.Split(v, ",")...); return nil }

type member struct {
	Name  string `json:"name"`
	Addr  string `json:"addr"`
	State string `json:"state"`
}

// GET /members: Members() (alive and suspect nodes, this one included),
// then the dead and left ones.
func (p *peer) members(w http.ResponseWriter, r *http.Request) {
	out := []member{}
	listed := map[string]bool{}
	for _, n := range p.list.Members() {
		out = append(out, member{n.Name, n.Address(), stateOf(n)})
		listed[n.Name] = true
	}
	p.mu.Lock()
	for name, state := range p.gone {
		if !listed[name] {
			out = append(out, member{name, "", state})
		}
	}
	p.mu.Unlock()
	json.NewEncoder(w).Encode(out)
}

func main() {
	name := flag.String("name", "", "node name")
	bind := flag.String("bind", "127.0.0.1", "bind address")
	port := flag.Int("port", 7946, "memberlist port")
	var join joins
	flag.Var(&join, "join", "host:port to join (repeatable, or comma-separated)")
	httpAddr := flag.String("http", "127.0.0.1:0", "control API address")
	probeInterval := flag.Duration("probe-interval", time.Second, "")
	probeTimeout := flag.Duration("probe-timeout", 500*time.Millisecond, "")
	gossipInterval := flag.Duration("gossip-interval", 200*time.Millisecond, "")
	pushPull := flag.Duration("pushpull-interval", 30*time.Second, "")
	suspicionMult := flag.Int("suspicion-mult", 4, "")
	retransmitMult := flag.Int("retransmit-mult", 4, "")
	compression := flag.Bool("compression", true, "")
	relay := flag.Bool("relay", false, "pass on each user message the first time it arrives")
	flag.Parse()

	p := &peer{gone: map[string]string{}, relay: *relay, arrived: map[string]int64{}}
	c := memberlist.DefaultLANConfig()
	c.Name = *name
	c.BindAddr = *bind
	c.BindPort = *port
	c.AdvertisePort = *port
	c.ProbeInterval = *probeInterval
	c.ProbeTimeout = *probeTimeout
	c.GossipInterval = *gossipInterval
	c.PushPullInterval = *pushPull
	c.SuspicionMult = *suspicionMult
	c.RetransmitMult = *retransmitMult
	c.EnableCompression = *compression
	c.Delegate = p
	c.Events = p
	c.LogOutput = os.Stderr
	list, err := memberlist.Create(c)
	if err != nil {
		log.Fatalf("mlpeer: %v", err)
	}
	p.list = list
	p.queue = &memberlist.TransmitLimitedQueue{NumNodes: list.NumMembers, RetransmitMult: *retransmitMult}
	if len(join) > 0 {
		if _, err := list.Join(join); err != nil {
			log.Printf("mlpeer: join: %v", err)
		}
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/members", p.members)
	mux.HandleFunc("/broadcast", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		p.queue.QueueBroadcast(broadcast(b))
	})
	mux.HandleFunc("/received", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, m := range p.received {
			io.WriteString(w, hex.EncodeToString(m)+"\n")
		}
	})
	mux.HandleFunc("/arrivals", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, m := range p.arrivals {
			fmt.Fprintf(w, "%s %d\n", hex.EncodeToString([]byte(m)), p.arrived[m])
		}
	})
	mux.HandleFunc("/state", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.state = b
		p.mu.Unlock()
	})
	mux.HandleFunc("/remote-state", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		io.WriteString(w, hex.EncodeToString(p.remoteState)+"\n")
	})
	leave := func() {
		list.Leave(5 * time.Second)
		list.Shutdown()
		os.Exit(0)
	}
	mux.HandleFunc("/leave", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		go leave()
	})
	go func() { // SIGTERM: exit without leaving (others will find it dead)
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		list.Shutdown()
		os.Exit(0)
	}()
	log.Fatal(http.ListenAndServe(*httpAddr, mux))
}
