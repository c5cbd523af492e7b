/** /metrics exposes the series operators need, and they move when messages flow. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './factory.ts'
import { metricValue as value, send, twoInARoom, watchRoom } from './helpers.ts'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.stop())

async function scrape(): Promise<string> {
  const res = await fetch(`${server.url}/metrics`)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/text\/plain/)
  return res.text()
}

describe('/metrics', () => {
  it('exposes every series, with the node id', async () => {
    await fetch(`${server.url}/healthz`)
    const text = await scrape()
    for (const name of [
      'parley_ws_connections',
      'parley_messages_sent_total',
      'parley_events_delivered_total',
      'parley_fanout_latency_seconds_count',
      'parley_bus_publish_errors_total',
      'parley_bus_subscribed_channels',
      'parley_http_requests_total',
      'nodejs_eventloop_lag_seconds',
      'nodejs_eventloop_lag_p99_seconds',
      'parley_mongodb_operation_seconds_count',
      'parley_mongodb_pool_wait_seconds_count',
    ]) {
      expect(() => value(text, name), name).not.toThrow()
    }
    expect(text).toContain('# TYPE parley_subscriptions gauge')
    expect(text).toContain('# TYPE parley_fanout_latency_seconds histogram')
    expect(text).toMatch(/parley_ws_connections\{node="[^"]+"\}/)
    // None that walks every socket of the node at each scrape (an event-loop stall with thousands open).
    for (const name of ['nodejs_active_handles', 'nodejs_active_resources', 'nodejs_active_requests', 'process_open_fds']) expect(() => value(text, name), name).toThrow()
    expect(() => value(text, 'process_max_fds')).not.toThrow()
  })

  it('moves when messages flow to a subscriber', async () => {
    const { alice, bob, roomId } = await twoInARoom(server, 'metrics')
    const watch = watchRoom(bob, roomId)
    await watch.started

    // The stream itself starts just after the client hears "started".
    await expect.poll(async () => value(await scrape(), 'parley_room_streams'), { timeout: 10_000 }).toBe(1)
    const before = await scrape()
    expect(value(before, 'parley_ws_connections')).toBeGreaterThanOrEqual(1)
    expect(value(before, 'parley_subscriptions', { procedure: 'events.room' })).toBe(1)

    for (let i = 0; i < 5; i++) await send(alice, roomId, `metric ${i}`)
    await watch.until((items) => items.filter((e) => e.type === 'message.created').length >= 5)

    const after = await scrape()
    expect(value(after, 'parley_messages_sent_total') - value(before, 'parley_messages_sent_total')).toBe(5)
    expect(value(after, 'parley_events_delivered_total') - value(before, 'parley_events_delivered_total')).toBeGreaterThanOrEqual(5)
    expect(value(after, 'parley_fanout_latency_seconds_count') - value(before, 'parley_fanout_latency_seconds_count')).toBeGreaterThanOrEqual(5)
    // Every send writes through the driver: its round trips are timed.
    const mongo = (t: string) => value(t, 'parley_mongodb_operation_seconds_count')
    expect(mongo(after) - mongo(before)).toBeGreaterThanOrEqual(5)
    expect(value(after, 'parley_mongodb_operation_seconds_sum')).toBeGreaterThan(value(before, 'parley_mongodb_operation_seconds_sum'))
    expect(value(after, 'parley_mongodb_pool_wait_seconds_count') - value(before, 'parley_mongodb_pool_wait_seconds_count')).toBe(mongo(after) - mongo(before))
    expect(value(after, 'parley_http_requests_total', { status: '2xx' })).toBeGreaterThan(value(before, 'parley_http_requests_total', { status: '2xx' }))

    watch.stop()
    await expect.poll(async () => value(await scrape(), 'parley_subscriptions', { procedure: 'events.room' }), { timeout: 10_000 }).toBe(0)
    await bob.close()
    await expect.poll(async () => value(await scrape(), 'parley_ws_connections'), { timeout: 10_000 }).toBe(0)
  })
})
