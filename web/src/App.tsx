import { useEffect } from 'react';
import { ConnectionBadge } from './components/ConnectionBadge';
import { Tabs, type TabDef } from './components/Tabs';
import { ThemeButton } from './components/ThemeButton';
import { TokenControl } from './components/TokenControl';
import { DashContext, type Dashboard } from './context';
import { useDash } from './live/store';
import { useHashRoute } from './hooks/useHashRoute';
import { useTheme } from './hooks/useTheme';
import { DataView } from './views/DataView';
import { MembersView } from './views/MembersView';
import { MerkleView } from './views/MerkleView';
import { OverviewView } from './views/OverviewView';
import { RingView } from './views/RingView';
import { TimelineView } from './views/TimelineView';

const TAB_IDS = ['overview', 'ring', 'members', 'timeline', 'merkle', 'data'] as const;

export function App({ dash }: { dash: Dashboard }) {
  const theme = useTheme();
  const [route, go] = useHashRoute();
  const active = (TAB_IDS as readonly string[]).includes(route.tab) ? route.tab : 'overview';
  const conflicts = useDash(dash.store, (s) => s.conflicts.length);
  const suspect = useDash(dash.store, (s) => (s.members ? Object.values(s.members.cluster_members).filter((m) => m.status === 'suspected' || m.status === 'dead').length : 0));
  const nodeId = useDash(dash.store, (s) => s.status?.node_id ?? s.hello?.node_id ?? null);
  const version = useDash(dash.store, (s) => s.status?.version ?? null);

  useEffect(() => {
    void dash.controller.start();
    return () => dash.controller.stop();
  }, [dash]);

  useEffect(() => {
    document.title = nodeId ? `Chorus · ${nodeId}` : 'Chorus';
  }, [nodeId]);

  const tabs: TabDef[] = [
    { id: 'overview', label: 'Overview' },
    { id: 'ring', label: 'Ring' },
    { id: 'members', label: 'Members', badge: suspect || null },
    { id: 'timeline', label: 'Timeline', badge: conflicts || null },
    { id: 'merkle', label: 'Merkle' },
    { id: 'data', label: 'Data' },
  ];

  return (
    <DashContext.Provider value={dash}>
      <header className="app-header">
        <div className="brand">
          <span className="logo" aria-hidden="true" />
          <span className="brand-name">Chorus</span>
          {nodeId ? (
            <span className="serving" data-testid="serving-node" title="The node that serves this page and answers its requests">
              {nodeId}
              {version ? <span className="muted"> v{version}</span> : null}
            </span>
          ) : null}
        </div>
        <Tabs tabs={tabs} active={active} onSelect={go} />
        <div className="header-tools">
          <ConnectionBadge />
          <TokenControl />
          <ThemeButton choice={theme.choice} onCycle={theme.cycle} />
        </div>
      </header>
      <main className="app-main">
        <section role="tabpanel" id={`panel-${active}`} aria-labelledby={`tab-${active}`} className="panel" data-testid={`panel-${active}`}>
          {active === 'overview' ? <OverviewView onGo={go} /> : null}
          {active === 'ring' ? <RingView /> : null}
          {active === 'members' ? <MembersView /> : null}
          {active === 'timeline' ? <TimelineView params={route.params} theme={theme.effective} /> : null}
          {active === 'merkle' ? <MerkleView /> : null}
          {active === 'data' ? <DataView /> : null}
        </section>
      </main>
    </DashContext.Provider>
  );
}
