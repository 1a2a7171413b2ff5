import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { createDashboard } from './context';
import './styles/theme.css';
import './styles/layout.css';
import './styles/views.css';
import './styles/merkle.css';

const dash = createDashboard();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App dash={dash} />
  </StrictMode>,
);
