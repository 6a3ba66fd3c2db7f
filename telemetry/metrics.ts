import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { labelSets } from './label-sets.ts';
import { type CacheResult, currentRequest } from './request-context.ts';
import { registerScrapeGauges } from './scrape-gauges.ts';
import { scrapeTimeCounts } from './scrape-time-counts.ts';
import { seriesHistogram } from './series-histogram.ts';
import { TAOGATE_CACHE, TAOGATE_COALESCED, TAOGATE_SPENT_RAO } from './span-attributes.ts';
import { createSubnetTraffic } from './subnet-traffic.ts';

/** Latency buckets in seconds: from a cache-hit-fast answer to a slow miner near the default deadline. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface RequestObservation {
  /** The route pattern (`/v1/chat/completions`), never the raw path: label values must stay few. */
  route: string;
  status: number;
  /** The subnet that answered, or undefined when none did. */
  netuid: number | undefined;
  seconds: number;
}

/** One generation request (chat, completion, embedding, image) once its answer is complete or failed. */
export interface GenerationObservation {
  netuid: number;
  /** A catalogue model id: bounded by the profiles, never the raw `model` a client sent. */
  model: string;
  /** Arrival to the end of the answer (the last stream chunk for streams). */
  seconds: number;
  /** Arrival to the first chunk of the answer; undefined when none came. */
  firstTokenSeconds: number | undefined;
  /** The HTTP status of a failed request (`502`, `429`, …); undefined on success. */
  errorCode: string | undefined;
  inputTokens: number | undefined;
  outputTokens: number | undefined;
}

/**
 * How a call to one miner ended: answered (first chunk arrived, answer streamed to its end), failed before
 * or while answering, or cancelled (lost a hedge race, or the client left).
 */
export type AttemptOutcomeLabel = 'answered' | 'failed' | 'cancelled';

/**
 * A miner's on-chain incentive rank within its subnet, bucketed so that a miner label stays bounded: the
 * question "do the chain's top miners answer faster?" without one series per uid.
 */
export type MinerBucket = 'top1' | 'top5' | 'top20' | 'rest';

export interface AttemptObservation {
  netuid: number;
  protocol: string;
  minerBucket: MinerBucket;
  outcome: AttemptOutcomeLabel;
  /** The upstream error code of a failed call (`upstream_timeout`, …). */
  errorCode: string | undefined;
  /** Call to first chunk, for calls that got one. */
  firstChunkSeconds: number | undefined;
}

type HttpLabels = { route: string; status: string; netuid: string };
type ModelLabels = { netuid: string; model: string };
type SubnetLabels = { netuid: string };
type CacheLabels = { netuid: string; result: string };
type AttemptLabels = {
  netuid: string;
  protocol: string;
  miner_bucket: string;
  outcome: string;
  code: string;
};

/**
 * The gateway's Prometheus metrics, in a registry of its own so several gateways can share a process
 * (tests). Label values are bounded: routes and statuses, netuids and catalogue models from the profiles,
 * error codes from fixed lists, miners by incentive-rank bucket only.
 */
export function createGatewayMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'taogate_' });
  const registers = [registry];
  // What is counted or timed on every request or attempt costs a Map lookup by a label object built once
  // per series (labelSets below): counters are summed and handed to prom-client at scrape, histograms are
  // seriesHistograms. Rarer events go through prom-client's own counters and histograms.
  const httpCounts = scrapeTimeCounts<HttpLabels>();
  const modelCounts = scrapeTimeCounts<ModelLabels>();
  const tokenCounts = scrapeTimeCounts<ModelLabels & { type: string }>();
  const attemptCounts = scrapeTimeCounts<AttemptLabels>();
  const subnetCounts = {
    hedges: scrapeTimeCounts<SubnetLabels>(),
    coalesced: scrapeTimeCounts<SubnetLabels>(),
    spentRao: scrapeTimeCounts<SubnetLabels>(),
  };
  const cacheCounts = scrapeTimeCounts<CacheLabels>();
  let requestsInFlight = 0;
  const httpLabels = ['route', 'status', 'netuid'] as const;
  new Counter({
    name: 'taogate_http_requests_total',
    help: 'HTTP requests answered, by route, status and the subnet that answered',
    labelNames: httpLabels,
    registers,
    collect() {
      httpCounts.flushInto(this);
    },
  });
  const httpLatency = seriesHistogram({
    name: 'taogate_http_request_duration_seconds',
    help: 'Time to the response headers (whole answer for JSON, first token for streams), per subnet',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  new Gauge({
    name: 'taogate_http_requests_in_flight',
    help: 'API requests being served (until their last byte is sent)',
    registers,
    collect() {
      this.set(requestsInFlight);
    },
  });

  const modelLabels = ['netuid', 'model'] as const;
  new Counter({
    name: 'taogate_model_requests_total',
    help: 'Generation requests per subnet and model asked for',
    labelNames: modelLabels,
    registers,
    collect() {
      modelCounts.flushInto(this);
    },
  });
  const generationErrors = new Counter({
    name: 'taogate_model_request_errors_total',
    help: 'Generation requests that failed, by OpenAI error code',
    labelNames: [...modelLabels, 'code'],
    registers,
  });
  const generationLatency = seriesHistogram({
    name: 'taogate_model_request_duration_seconds',
    help: 'Arrival to the end of the answer (last chunk for streams), per subnet and model',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const timeToFirstToken = seriesHistogram({
    name: 'taogate_model_time_to_first_token_seconds',
    help: 'Arrival to the first chunk of the answer, per subnet and model',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  new Counter({
    name: 'taogate_model_tokens_total',
    help: 'Tokens in prompts (input) and answers (output), estimated where subnets report none',
    labelNames: [...modelLabels, 'type'],
    registers,
    collect() {
      tokenCounts.flushInto(this);
    },
  });

  new Counter({
    name: 'taogate_upstream_attempts_total',
    help: 'Calls to miners by outcome and the miner’s on-chain incentive-rank bucket',
    labelNames: ['netuid', 'protocol', 'miner_bucket', 'outcome', 'code'],
    registers,
    collect() {
      attemptCounts.flushInto(this);
    },
  });
  const attemptFirstChunk = seriesHistogram({
    name: 'taogate_upstream_first_chunk_seconds',
    help: 'Call to first chunk of the miners that answered, by incentive-rank bucket',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  new Counter({
    name: 'taogate_upstream_hedges_total',
    help: 'Second calls sent because the first miner’s first chunk was late',
    labelNames: ['netuid'],
    registers,
    collect() {
      subnetCounts.hedges.flushInto(this);
    },
  });
  new Counter({
    name: 'taogate_cache_lookups_total',
    help: 'Response cache lookups by result (hit, miss, bypass)',
    labelNames: ['netuid', 'result'],
    registers,
    collect() {
      cacheCounts.flushInto(this);
    },
  });
  new Counter({
    name: 'taogate_coalesced_requests_total',
    help: 'Requests answered by joining an identical request already in flight',
    labelNames: ['netuid'],
    registers,
    collect() {
      subnetCounts.coalesced.flushInto(this);
    },
  });
  const queueDepth = new Gauge({
    name: 'taogate_queue_depth',
    help: 'Requests waiting in a gateway queue',
    labelNames: ['queue'],
    registers,
  });
  const queueWait = new Histogram({
    name: 'taogate_queue_wait_seconds',
    help: 'Time requests spent waiting in a gateway queue',
    labelNames: ['queue'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  new Counter({
    name: 'taogate_ledger_spent_rao_total',
    help: 'Rao charged to callers, per subnet',
    labelNames: ['netuid'],
    registers,
    collect() {
      subnetCounts.spentRao.flushInto(this);
    },
  });

  const gauges = registerScrapeGauges(registers);
  const traffic = createSubnetTraffic();

  const subnetLabels = labelSets((netuid: number): SubnetLabels => ({ netuid: String(netuid) }));
  const httpLabelsOf = labelSets(
    (route: string, status: number, netuid: number | undefined): HttpLabels => ({
      route,
      status: String(status),
      netuid: netuid === undefined ? 'none' : String(netuid),
    }),
  );
  const modelLabelsOf = labelSets((netuid: number, model: string) => {
    const labels: ModelLabels = { netuid: String(netuid), model };
    return { labels, input: { ...labels, type: 'input' }, output: { ...labels, type: 'output' } };
  });
  const modelErrorLabelsOf = labelSets((netuid: number, model: string, code: string) => ({
    ...modelLabelsOf(netuid, model).labels,
    code,
  }));
  const attemptLabelsOf = labelSets(
    (
      netuid: number,
      protocol: string,
      bucket: MinerBucket,
      outcome: AttemptOutcomeLabel,
      code: string,
    ): AttemptLabels => ({
      netuid: String(netuid),
      protocol,
      miner_bucket: bucket,
      outcome,
      code,
    }),
  );
  const bucketLabelsOf = labelSets((netuid: number, bucket: MinerBucket) => ({
    netuid: String(netuid),
    miner_bucket: bucket,
  }));
  const cacheLabelsOf = labelSets(
    (netuid: number, result: CacheResult): CacheLabels => ({
      netuid: String(netuid),
      result,
    }),
  );

  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),
    /** Per-subnet counts and recent latencies, for the stats API and the dashboard. */
    traffic,

    observeRequest({ route, status, netuid, seconds }: RequestObservation): void {
      const labels = httpLabelsOf(route, status, netuid);
      httpCounts.add(labels);
      httpLatency.observe(labels, seconds);
    },
    /** A request is in flight until `requestFinished` (once, when its last byte is sent). */
    requestStarted(): void {
      requestsInFlight++;
    },
    requestFinished(): void {
      requestsInFlight--;
    },
    observeGeneration(observation: GenerationObservation): void {
      const { netuid, model } = observation;
      const series = modelLabelsOf(netuid, model);
      modelCounts.add(series.labels);
      generationLatency.observe(series.labels, observation.seconds);
      if (observation.firstTokenSeconds !== undefined)
        timeToFirstToken.observe(series.labels, observation.firstTokenSeconds);
      if (observation.errorCode !== undefined)
        generationErrors.inc(modelErrorLabelsOf(netuid, model, observation.errorCode));
      if (observation.inputTokens) tokenCounts.add(series.input, observation.inputTokens);
      if (observation.outputTokens) tokenCounts.add(series.output, observation.outputTokens);
      traffic.recordRequest(observation);
    },
    observeAttempt(observation: AttemptObservation): void {
      const { netuid, minerBucket } = observation;
      attemptCounts.add(
        attemptLabelsOf(
          netuid,
          observation.protocol,
          minerBucket,
          observation.outcome,
          observation.errorCode ?? '',
        ),
      );
      if (observation.firstChunkSeconds !== undefined)
        attemptFirstChunk.observe(bucketLabelsOf(netuid, minerBucket), observation.firstChunkSeconds);
    },
    hedged(netuid: number): void {
      subnetCounts.hedges.add(subnetLabels(netuid));
    },
    /**
     * A response-cache lookup for a request to `netuid` (the caching layer calls this). Also marks the
     * request being served, so its span and Server-Timing say whether it came from the cache.
     */
    cacheLookup(netuid: number, result: CacheResult): void {
      cacheCounts.add(cacheLabelsOf(netuid, result));
      traffic.recordCacheLookup(netuid, result);
      const request = currentRequest();
      if (!request) return;
      request.cache = result;
      request.span?.setAttribute(TAOGATE_CACHE, result);
    },
    /** A request served by joining an identical one already in flight (the caching layer calls this). */
    coalesced(netuid: number): void {
      subnetCounts.coalesced.add(subnetLabels(netuid));
      currentRequest()?.span?.setAttribute(TAOGATE_COALESCED, true);
    },
    /** How many requests wait in the named queue now. */
    setQueueDepth(queue: string, depth: number): void {
      queueDepth.set({ queue }, depth);
    },
    /** A request waited `seconds` in the named queue before being served; shows in its Server-Timing. */
    queued(queue: string, seconds: number): void {
      queueWait.observe({ queue }, seconds);
      const request = currentRequest();
      if (request) request.queueMs = (request.queueMs ?? 0) + seconds * 1000;
    },
    /** Rao charged to a caller for a request to `netuid` (the billing ledger calls this on commit). */
    spent(netuid: number, rao: number | bigint): void {
      subnetCounts.spentRao.add(subnetLabels(netuid), Number(rao));
      currentRequest()?.span?.setAttribute(TAOGATE_SPENT_RAO, Number(rao));
    },
    /** Reads miners' circuits and open calls at scrape time (the router's stats). */
    watchSubnets: gauges.watchSubnets,
    /** Reads the response cache's memory and Redis state at scrape time (its stats). */
    watchCache: gauges.watchCache,
  };
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
