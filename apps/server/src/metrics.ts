import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { ApiMetrics } from '@parley/api'
import type { Bus } from '@parley/bus'

/**
 * Default metrics that walk every handle or file descriptor of the process at
 * each scrape: with 10,000 sockets open a scrape blocked the event loop for
 * ~33 ms (0.5 ms without them) — a latency spike for everyone on the node at
 * every scrape. `parley_ws_connections` counts the sockets instead.
 */
const HANDLE_WALKERS = ['nodejs_active_handles', 'nodejs_active_handles_total', 'nodejs_active_requests', 'nodejs_active_requests_total', 'nodejs_active_resources', 'nodejs_active_resources_total', 'process_open_fds']

/**
 * Prometheus metrics, one registry per app so several apps can live in one
 * test process. Default metrics include `nodejs_eventloop_lag_seconds` (and
 * its percentiles), heap, GC and CPU (not HANDLE_WALKERS).
 */
export function createMetrics(bus: Bus, nodeId: string) {
  const registry = new Registry()
  registry.setDefaultLabels({ node: nodeId })
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 })
  for (const name of HANDLE_WALKERS) registry.removeSingleMetric(name)
  const connections = new Gauge({ name: 'parley_ws_connections', help: 'Open WebSocket connections', registers: [registry] })
  const wsOpened = new Counter({ name: 'parley_ws_connections_opened_total', help: 'WebSocket connections accepted', registers: [registry] })
  const clientConnections = new Gauge({
    name: 'parley_client_connections',
    help: 'Open client connections, HTTP and WebSocket, as counted against parley_max_connections (read at each scrape)',
    registers: [registry],
  })
  const maxConnections = new Gauge({ name: 'parley_max_connections', help: 'MAX_CONNECTIONS: client connections this node holds at most (0: no cap)', registers: [registry] })
  const subscriptions = new Gauge({
    name: 'parley_subscriptions',
    help: 'Active subscriptions, by procedure',
    labelNames: ['procedure'],
    registers: [registry],
  })
  const roomStreams = new Gauge({ name: 'parley_room_streams', help: 'Live events.room streams (past the membership check)', registers: [registry] })
  const userStreamsStarting = new Gauge({
    name: 'parley_user_streams_starting',
    help: 'events.user streams still waiting for their user’s rooms and unread counts (a crowd reconnecting shows here)',
    registers: [registry],
  })
  const messages = new Counter({ name: 'parley_messages_sent_total', help: 'Messages accepted by messages.send', registers: [registry] })
  const delivered = new Counter({ name: 'parley_events_delivered_total', help: 'Room events yielded to subscribers', registers: [registry] })
  const fanout = new Histogram({
    name: 'parley_fanout_latency_seconds',
    help: 'Time from an event being persisted to it being handed to a subscriber socket',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  })
  const mongoBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]
  const mongoLatency = new Histogram({
    name: 'parley_mongodb_operation_seconds',
    help: 'MongoDB round trips: how long each operation held its pooled connection (one command and its reply)',
    buckets: mongoBuckets,
    registers: [registry],
  })
  const mongoPoolWait = new Histogram({
    name: 'parley_mongodb_pool_wait_seconds',
    help: 'How long each MongoDB operation waited for a pooled connection (all in use: raise the pool or lighten the load)',
    buckets: mongoBuckets,
    registers: [registry],
  })
  const httpRequests = new Counter({
    name: 'parley_http_requests_total',
    help: 'HTTP requests answered, by status class',
    labelNames: ['status'],
    registers: [registry],
  })
  const limitHits = new Counter({
    name: 'parley_limit_hits_total',
    help: 'Abuse limits enforced, by limit (ws_rate, ws_batch, ws_subscriptions, ws_per_ip, ws_per_user, ws_slow_consumer, ws_handshake, ws_payload; connections: a connection refused at MAX_CONNECTIONS)',
    labelNames: ['limit'],
    registers: [registry],
  })
  new Counter({
    name: 'parley_bus_publish_errors_total',
    help: 'Bus publishes that failed (Redis unreachable)',
    registers: [registry],
    collect() {
      // Mirrors the bus's own monotonic count.
      this.reset()
      this.inc(bus.stats().publishErrors)
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
    subscriptionOpened: () => roomStreams.inc(),
    subscriptionClosed: () => roomStreams.dec(),
    subscriptionStarted: (path) => subscriptions.inc({ procedure: path }),
    subscriptionEnded: (path) => subscriptions.dec({ procedure: path }),
    subscriptionRefused: () => limitHits.inc({ limit: 'ws_subscriptions' }),
    userStreamsStarting: (delta) => userStreamsStarting.inc(delta),
  }
  return {
    registry,
    api,
    connections,
    wsOpened,
    clientConnections,
    maxConnections,
    httpRequests,
    limitHits,
    /** For connectDatabase's onOperation hook. */
    mongoOperation(waitedMs: number, heldMs: number) {
      mongoPoolWait.observe(waitedMs / 1000)
      mongoLatency.observe(heldMs / 1000)
    },
  }
}
export type Metrics = ReturnType<typeof createMetrics>
