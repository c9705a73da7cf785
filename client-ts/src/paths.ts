import { routes, type EndpointName, type Endpoints } from './generated.js';

/** The path of endpoint `name` with its parameters filled in (percent-encoded). */
export function endpointPath<N extends EndpointName>(name: N, params?: Endpoints[N]['params']): string {
  const values = (params ?? {}) as Record<string, string>;
  return routes[name].path.replace(/\{(\w+)\}/g, (_, p: string) => encodeURIComponent(values[p] ?? ''));
}
