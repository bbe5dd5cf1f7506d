package integration

import "sync"

// requestLog records what a test server (npm registry, GOPROXY) was asked
// and counts downloads by name, safely across handler goroutines.
type requestLog struct {
	mu    sync.Mutex
	count map[string]int
	log   []string
}

func (l *requestLog) saw(request string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log = append(l.log, request)
}

func (l *requestLog) downloaded(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count == nil {
		l.count = map[string]int{}
	}
	l.count[name]++
}

func (l *requestLog) downloads() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for k, v := range l.count {
		out[k] = v
	}
	return out
}

func (l *requestLog) requests() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.log...)
}
