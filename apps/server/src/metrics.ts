import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { ApiMetrics } from '@parley/api'
import type { Bus } from '@parley/bus'

/** Prometheus metrics, one registry per app so several apps can live in one test process. */
export function createMetrics(bus: Bus) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 })
  const connections = new Gauge({ name: 'parley_ws_connections', help: 'Open WebSocket connections', registers: [registry] })
  const subscriptions = new Gauge({ name: 'parley_subscriptions', help: 'Active subscriptions', registers: [registry] })
  const messages = new Counter({ name: 'parley_messages_sent_total', help: 'Messages accepted by messages.send', registers: [registry] })
  const delivered = new Counter({ name: 'parley_events_delivered_total', help: 'Room events yielded to subscribers', registers: [registry] })
  const fanout = new Histogram({
    name: 'parley_fanout_latency_seconds',
    help: 'Time from an event being persisted to it being handed to a subscriber socket',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  })
  const mongoLatency = new Histogram({
    name: 'parley_mongodb_command_seconds',
    help: 'MongoDB command latency',
    labelNames: ['command'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  })
  new Gauge({
    name: 'parley_bus_publish_errors_total',
    help: 'Bus publishes that failed (Redis unreachable)',
    registers: [registry],
    collect() {
      this.set(bus.stats().publishErrors)
    },
  })
  new Gauge({
    name: 'parley_bus_subscribed_channels',
    help: 'Bus channels this node is subscribed to',
    registers: [registry],
    collect() {
      this.set(bus.stats().subscribedChannels)
    },
  })

  const api: ApiMetrics = {
    messageSent: () => messages.inc(),
    eventDelivered: (n) => delivered.inc(n),
    fanoutLatency: (s) => fanout.observe(s),
    subscriptionOpened: () => subscriptions.inc(),
    subscriptionClosed: () => subscriptions.dec(),
  }
  return { registry, api, connections, mongoLatency }
}
export type Metrics = ReturnType<typeof createMetrics>
