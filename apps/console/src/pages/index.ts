import type { ComponentType } from 'react';
import { AgentsPage } from './AgentsPage';
import { ApprovalsPage } from './ApprovalsPage';
import { AuditPage } from './AuditPage';
import { DecisionsPage } from './DecisionsPage';
import { ElevationPage } from './ElevationPage';
import { LiveDataPage } from './LiveDataPage';
import { OverviewPage } from './OverviewPage';
import { VersionsPage } from './VersionsPage';

export interface Page {
  /** Route under /console; nested routes of a page use `path` + `/*?`. */
  path: string;
  title: string;
  component: ComponentType;
}

/** The console's pages, in navigation order. */
export const PAGES: Page[] = [
  { path: '/overview', title: 'Overview', component: OverviewPage },
  { path: '/versions/*?', title: 'Versions', component: VersionsPage },
  { path: '/decisions/*?', title: 'Decisions', component: DecisionsPage },
  { path: '/approvals', title: 'Approvals', component: ApprovalsPage },
  { path: '/elevation', title: 'Elevation', component: ElevationPage },
  { path: '/agents', title: 'Agents', component: AgentsPage },
  { path: '/live-data/*?', title: 'Live data and signals', component: LiveDataPage },
  { path: '/audit', title: 'Audit', component: AuditPage },
];
