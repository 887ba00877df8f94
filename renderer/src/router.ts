/**
 * Hash routes, so every view and every trace has a link that works in the Electron window
 * (app://chaoscope/index.html#/traces/<id>) and in web mode alike.
 */
import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router';

export interface NavItem {
  path: string;
  name: string;
  label: string;
  /** A single key that jumps to the view (shown in the nav and the help overlay). */
  key: string;
  /** An SVG path (24×24 viewBox) for the nav icon. */
  icon: string;
}

export const NAV: readonly NavItem[] = [
  {
    path: '/overview',
    name: 'overview',
    label: 'Overview',
    key: '1',
    icon: 'M12 2a3 3 0 1 1 0 6 3 3 0 0 1 0-6Zm-7 14a3 3 0 1 1 0 6 3 3 0 0 1 0-6Zm14 0a3 3 0 1 1 0 6 3 3 0 0 1 0-6ZM11 8h2v3.5l5.2 3.2-1 1.7L12 13.2l-5.2 3.2-1-1.7L11 11.5Z',
  },
  {
    path: '/traces',
    name: 'traces',
    label: 'Traces',
    key: '2',
    icon: 'M3 4h10v3H3Zm4 5h12v3H7Zm3 5h8v3h-8Zm-4 5h6v2H6Z',
  },
  {
    path: '/metrics',
    name: 'metrics',
    label: 'Metrics',
    key: '3',
    icon: 'M3 20h18v2H3ZM4 16l4.5-6 4 3.5L18 5l2 1.4-6.8 9.6-4-3.4L5.6 17.2Z',
  },
  {
    path: '/breakers',
    name: 'breakers',
    label: 'Breakers',
    key: '4',
    icon: 'M4 11h4l2-5 4 12 2-7h4v2h-2.6l-3.4 10-4-12-.7 2H4Z',
  },
  { path: '/chaos', name: 'chaos', label: 'Chaos', key: '5', icon: 'M13 2 4 14h6l-1 8 9-12h-6Z' },
  {
    path: '/auth',
    name: 'auth',
    label: 'Auth',
    key: '6',
    icon: 'M12 2 4 5v6c0 5 3.4 9.4 8 11 4.6-1.6 8-6 8-11V5Zm0 5a2.5 2.5 0 0 1 1 4.8V15h-2v-3.2A2.5 2.5 0 0 1 12 7Z',
  },
  {
    path: '/registry',
    name: 'registry',
    label: 'Registry',
    key: '7',
    icon: 'M4 4h16v5H4Zm0 6.5h16v5H4ZM4 17h16v3H4Zm2-11v1h2V6Zm0 6.5v1h2v-1Z',
  },
  {
    path: '/load',
    name: 'load',
    label: 'Load',
    key: '8',
    icon: 'M12 4a9 9 0 0 1 9 9h-2a7 7 0 0 0-14 0H3a9 9 0 0 1 9-9Zm4.2 3.4 1.4 1.4-4.2 4.3a1.5 1.5 0 1 1-1.4-1.4Z',
  },
  {
    path: '/logs',
    name: 'logs',
    label: 'Logs',
    key: '9',
    icon: 'M4 4h16v2H4Zm0 4h10v2H4Zm0 4h16v2H4Zm0 4h12v2H4Z',
  },
  {
    path: '/experiments',
    name: 'experiments',
    label: 'Experiments',
    key: '0',
    icon: 'M9 2h6v2h-1v5l5.5 9.5A2.3 2.3 0 0 1 17.5 22h-11a2.3 2.3 0 0 1-2-3.5L10 9V4H9Zm3 9.3L9.3 16h5.4Z',
  },
];

const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/overview' },
  { path: '/overview', name: 'overview', component: () => import('./views/OverviewView.vue') },
  { path: '/traces', name: 'traces', component: () => import('./views/traces/TracesView.vue') },
  {
    path: '/traces/:traceId',
    name: 'trace',
    component: () => import('./views/traces/TraceView.vue'),
    props: true,
  },
  {
    path: '/traces/:a/compare/:b',
    name: 'trace-compare',
    component: () => import('./views/traces/TraceCompareView.vue'),
    props: true,
  },
  { path: '/metrics', name: 'metrics', component: () => import('./views/metrics/MetricsView.vue') },
  { path: '/breakers', name: 'breakers', component: () => import('./views/BreakersView.vue') },
  { path: '/chaos', name: 'chaos', component: () => import('./views/ChaosView.vue') },
  { path: '/auth', name: 'auth', component: () => import('./views/AuthView.vue') },
  { path: '/registry', name: 'registry', component: () => import('./views/RegistryView.vue') },
  { path: '/load', name: 'load', component: () => import('./views/LoadView.vue') },
  { path: '/logs', name: 'logs', component: () => import('./views/LogsView.vue') },
  { path: '/experiments', name: 'experiments', component: () => import('./views/ExperimentsView.vue') },
  { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('./views/NotFoundView.vue') },
];

export const router = createRouter({ history: createWebHashHistory(), routes });
