package realtime

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	sent       prometheus.Counter
	slowClosed prometheus.Counter
	opened     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, active func() float64, rooms func() float64) *metrics {
	m := &metrics{
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_ws_frames_sent_total", Help: "WebSocket frames queued to clients.",
		}),
		slowClosed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_ws_closed_slow_total", Help: "WebSockets closed with 4008 because they fell behind.",
		}),
		opened: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_ws_opened_total", Help: "WebSockets accepted.",
		}),
	}
	reg.MustRegister(m.sent, m.slowClosed, m.opened,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "chatd_ws_active_connections", Help: "WebSockets open now.",
		}, active),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "chatd_ws_rooms", Help: "Chat sessions with at least one open WebSocket.",
		}, rooms),
	)
	return m
}
