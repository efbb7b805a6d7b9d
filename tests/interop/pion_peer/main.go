// Command pion_peer is a Pion WebRTC v3 peer for signaling and connection
// interop tests.
//
//	pion_peer offer [--data-only] [--connect [--hold S]] [--timeout S]
//	    print an offer (sendrecv opus audio, sendrecv VP8 video and one data
//	    channel, or the data channel only) and an empty line, read the
//	    answer from stdin, apply it.
//	pion_peer answer [--connect [--hold S]] [--timeout S]
//	    read an offer from stdin, print the answer and an empty line.
//
// A description is plain SDP followed by one empty line (or EOF). Host
// candidates only (no ICE servers, mDNS off).
//
// Without --connect: exit 0 when the remote description was accepted ("ok"
// on stderr), 1 with Pion's error on stderr otherwise. The remote
// description's a=candidate lines are checked with Pion's own candidate
// parser, as SetRemoteDescription does, and then removed so that the ICE
// agent has nobody to send checks to; the program exits without waiting
// for a connection.
//
// With --connect: the remote candidates are kept, Pion runs ICE and DTLS,
// and once PeerConnectionStateConnected is reached (within --timeout) the
// program prints "connected" and the selected candidate pair on stderr,
// then stays up until the peer hangs up (a DTLS close_notify), stdin
// reaches EOF, or --hold seconds (default 30) have passed. Exit 0 if it
// connected, 1 otherwise.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v2"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v3"
)

var (
	timeout = 10 * time.Second
	connect = false
	hold    = 30 * time.Second
	// closeNotify is closed when the DTLS layer receives the peer's
	// close_notify alert (seen through Pion's own trace logging).
	closeNotify     = make(chan struct{})
	closeNotifyOnce sync.Once
)

// watchLogger forwards to Pion's default logger and notices the peer's
// DTLS close_notify, which Pion v3 reports through no public API.
type watchLogger struct {
	logging.LeveledLogger
}

func (l watchLogger) Tracef(format string, args ...interface{}) {
	msg := fmt.Sprintf(format, args...)
	if strings.Contains(msg, "<- Alert") && strings.Contains(msg, "CloseNotify") {
		closeNotifyOnce.Do(func() { close(closeNotify) })
	}
	l.LeveledLogger.Tracef(format, args...)
}

type watchLoggerFactory struct {
	def *logging.DefaultLoggerFactory
}

func (f watchLoggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return watchLogger{f.def.NewLogger(scope)}
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "pion: "+format+"\n", args...)
	os.Exit(1)
}

// readSDP reads one description: lines up to an empty line or EOF, line
// endings kept as they came.
func readSDP(r *bufio.Reader) (string, error) {
	type result struct {
		sdp string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var b strings.Builder
		for {
			line, err := r.ReadString('\n')
			if strings.TrimRight(line, "\r\n") == "" && line != "" {
				if b.Len() > 0 {
					ch <- result{b.String(), nil}
					return
				}
				continue // blank lines before the SDP
			}
			b.WriteString(line)
			if err != nil {
				if err == io.EOF && strings.TrimSpace(b.String()) != "" {
					ch <- result{b.String(), nil}
				} else if err == io.EOF {
					ch <- result{"", errors.New("end of input before any SDP")}
				} else {
					ch <- result{"", err}
				}
				return
			}
		}
	}()
	select {
	case res := <-ch:
		return res.sdp, res.err
	case <-time.After(timeout):
		return "", fmt.Errorf("no complete SDP on stdin within %v", timeout)
	}
}

func writeSDP(sdp string) {
	eol := "\n"
	if strings.Contains(sdp, "\r\n") {
		eol = "\r\n"
	}
	if !strings.HasSuffix(sdp, "\n") {
		sdp += eol
	}
	os.Stdout.WriteString(sdp + eol)
}

// checkAndStripCandidates applies the candidate checks of Pion's
// SetRemoteDescription (extractICEDetails) and returns the description
// without its a=candidate lines.
func checkAndStripCandidates(sdp string) (string, error) {
	var b strings.Builder
	for _, line := range strings.SplitAfter(sdp, "\n") {
		if strings.HasPrefix(line, "a=candidate:") {
			value := strings.TrimRight(strings.TrimPrefix(line, "a="), "\r\n")
			value = strings.TrimPrefix(value, "candidate:")
			if _, err := ice.UnmarshalCandidate(value); err != nil {
				if errors.Is(err, ice.ErrUnknownCandidateTyp) || errors.Is(err, ice.ErrDetermineNetworkType) {
					continue // Pion discards these with a warning
				}
				return "", err
			}
			continue
		}
		b.WriteString(line)
	}
	return b.String(), nil
}

func newPeerConnection() *webrtc.PeerConnection {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		fail("codecs: %v", err)
	}
	s := webrtc.SettingEngine{}
	// No mDNS: neither .local candidates nor multicast queries.
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if connect {
		s.LoggerFactory = watchLoggerFactory{logging.NewDefaultLoggerFactory()}
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(s))
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: []webrtc.ICEServer{}})
	if err != nil {
		fail("new peer connection: %v", err)
	}
	return pc
}

func addTrack(pc *webrtc.PeerConnection, kind webrtc.RTPCodecType) {
	c := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	id := "audio"
	if kind == webrtc.RTPCodecTypeVideo {
		c = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
		id = "video"
	}
	track, err := webrtc.NewTrackLocalStaticSample(c, id, "pion")
	if err != nil {
		fail("track: %v", err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		fail("add %s track: %v", id, err)
	}
}

// setLocal applies a local description and waits for ICE gathering.
func setLocal(pc *webrtc.PeerConnection, d webrtc.SessionDescription) string {
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(d); err != nil {
		fail("SetLocalDescription(%s): %v", d.Type, err)
	}
	select {
	case <-gathered:
	case <-time.After(timeout):
		fail("ICE gathering not complete after %v", timeout)
	}
	return pc.LocalDescription().SDP
}

func setRemote(pc *webrtc.PeerConnection, sdp string, t webrtc.SDPType) {
	stripped, err := checkAndStripCandidates(sdp)
	if err != nil {
		fail("SetRemoteDescription(%s): %v", t, err)
	}
	if connect {
		stripped = sdp // keep the candidates: ICE is wanted
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: t, SDP: stripped}); err != nil {
		fail("SetRemoteDescription(%s): %v", t, err)
	}
}

func doOffer(dataOnly bool) {
	in := bufio.NewReader(os.Stdin)
	pc := newPeerConnection()
	if !dataOnly {
		addTrack(pc, webrtc.RTPCodecTypeAudio)
		addTrack(pc, webrtc.RTPCodecTypeVideo)
	}
	if _, err := pc.CreateDataChannel("data", nil); err != nil {
		fail("CreateDataChannel: %v", err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		fail("CreateOffer: %v", err)
	}
	writeSDP(setLocal(pc, offer))
	answer, err := readSDP(in)
	if err != nil {
		fail("reading answer: %v", err)
	}
	setRemote(pc, answer, webrtc.SDPTypeAnswer)
	fmt.Fprintln(os.Stderr, "ok")
	if connect {
		os.Exit(stayConnected(pc, in))
	}
}

func doAnswer() {
	in := bufio.NewReader(os.Stdin)
	offer, err := readSDP(in)
	if err != nil {
		fail("reading offer: %v", err)
	}
	pc := newPeerConnection()
	setRemote(pc, offer, webrtc.SDPTypeOffer)
	// Send on the offer's audio/video m-lines (one track per transceiver).
	for _, t := range pc.GetTransceivers() {
		if t.Kind() == webrtc.RTPCodecTypeAudio || t.Kind() == webrtc.RTPCodecTypeVideo {
			addTrack(pc, t.Kind())
		}
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		fail("CreateAnswer: %v", err)
	}
	writeSDP(setLocal(pc, answer))
	if connect {
		os.Exit(stayConnected(pc, in))
	}
}

func candString(c *webrtc.ICECandidate) string {
	if c == nil {
		return "?"
	}
	addr := fmt.Sprintf("%s:%d", c.Address, c.Port)
	if strings.Contains(c.Address, ":") {
		addr = fmt.Sprintf("[%s]:%d", c.Address, c.Port)
	}
	return c.Typ.String() + " " + addr
}

func selectedPair(pc *webrtc.PeerConnection) string {
	sctp := pc.SCTP()
	if sctp == nil || sctp.Transport() == nil || sctp.Transport().ICETransport() == nil {
		return "pair unknown"
	}
	p, err := sctp.Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || p == nil {
		return "no selected pair"
	}
	return candString(p.Local) + " <-> " + candString(p.Remote)
}

// stayConnected waits for PeerConnectionStateConnected (ICE and DTLS up),
// reports it, then stays up until the peer hangs up, stdin ends or the hold
// time passes. Returns the exit code: 0 if it connected, 1 otherwise.
func stayConnected(pc *webrtc.PeerConnection, in *bufio.Reader) int {
	t0 := time.Now()
	deadline := t0.Add(timeout)
	for pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
		st := pc.ConnectionState()
		if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed ||
			time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "pion: not connected after %.1f s: connection %s, ICE %s, DTLS %s\n",
				time.Since(t0).Seconds(), st, pc.ICEConnectionState(), dtlsState(pc))
			return 1
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "pion: connected in %.1f ms: connection %s, ICE %s, DTLS %s, pair %s\n",
		float64(time.Since(t0).Microseconds())/1000, pc.ConnectionState(),
		pc.ICEConnectionState(), dtlsState(pc), selectedPair(pc))

	eof := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, err := in.Read(buf); err != nil {
				close(eof)
				return
			}
		}
	}()
	failed := make(chan webrtc.PeerConnectionState, 1)
	go func() {
		for {
			st := pc.ConnectionState()
			if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
				failed <- st
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	reason := ""
	peerClosed := false
	select {
	case <-closeNotify:
		reason = "DTLS close_notify (peer hung up)"
		peerClosed = true
	case <-eof:
		// The peer's program ended; give its close_notify, which may
		// still be on its way, half a second to be seen.
		select {
		case <-closeNotify:
			reason = "DTLS close_notify (peer hung up), stdin EOF"
			peerClosed = true
		case <-time.After(500 * time.Millisecond):
			reason = "stdin EOF"
		}
	case st := <-failed:
		reason = "connection " + st.String()
		peerClosed = true
	case <-time.After(hold):
		reason = fmt.Sprintf("hold time of %v over", hold)
	}
	fmt.Fprintf(os.Stderr, "pion: end after %.1f s connected: %s\n", time.Since(t0).Seconds(), reason)
	if !peerClosed {
		done := make(chan struct{})
		go func() { pc.Close(); close(done) }() // hang up ourselves, bounded
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
	}
	return 0
}

func dtlsState(pc *webrtc.PeerConnection) string {
	if sctp := pc.SCTP(); sctp != nil && sctp.Transport() != nil {
		return sctp.Transport().State().String()
	}
	return "?"
}

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: pion_peer offer|answer [--data-only] [--connect [--hold S]] [--timeout S]")
	}
	if len(os.Args) < 2 || (os.Args[1] != "offer" && os.Args[1] != "answer") {
		flag.Usage()
		os.Exit(2)
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	dataOnly := fs.Bool("data-only", false, "offer only a data channel")
	secs := fs.Float64("timeout", 10, "bound on every wait, seconds")
	conn := fs.Bool("connect", false, "run ICE + DTLS after signaling and stay connected")
	holdSecs := fs.Float64("hold", 30, "with --connect: longest stay once connected, seconds")
	fs.Parse(os.Args[2:])
	timeout = time.Duration(*secs * float64(time.Second))
	connect = *conn
	hold = time.Duration(*holdSecs * float64(time.Second))
	// Watchdog: whatever blocks, never outlive 3 timeouts (plus the hold).
	bound := 3 * timeout
	if connect {
		bound += hold
	}
	time.AfterFunc(bound, func() { fail("%s timed out", mode) })
	if mode == "offer" {
		doOffer(*dataOnly)
	} else {
		doAnswer()
	}
	// Exit at once: nothing to tear down.
	os.Exit(0)
}
