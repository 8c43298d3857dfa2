// Step: start remote syslog and monitor reporting once the parameters say where, then report status 0.

import { createMonitorSink } from '../report/monitor.js';
import { createSyslogSink } from '../report/syslog-sink.js';
import { collectMonitorInfo } from '../report/sysinfo.js';
import { saveMonitorContact } from '../init/crash-report.js';
import { getBool, getPort } from '../params/validate.js';
import { startConsoleServer } from '../report/console-server.js';
import { systemPaths } from '../exec/tools.js';
import { type Step, param } from './context.js';

export const reportingStep: Step = {
  name: 'reporting',
  title: 'Starting remote logging and monitoring',
  async run(ctx) {
    const host = () => param(ctx, 'HOSTNAME') ?? ctx.state.clientIp ?? 'si-client';
    const logServer = param(ctx, 'LOG_SERVER');
    if (logServer) {
      try {
        const s = createSyslogSink({ host: logServer, port: getPort(ctx.params, 'LOG_SERVER_PORT'), hostname: host() });
        ctx.report.addSink(s.sink, s.close);
        ctx.state.drains.push(s.close);
        ctx.report.info(`remote syslog to ${logServer}:${getPort(ctx.params, 'LOG_SERVER_PORT')}`);
      } catch (err) {
        ctx.report.warn(`remote syslog to ${logServer} not started: ${(err as Error).message}`);
      }
    }
    const monitor = param(ctx, 'MONITOR_SERVER');
    if (monitor) {
      const port = getPort(ctx.params, 'MONITOR_PORT');
      // Read anew for every message: host name and image are learned after this step.
      const info = () => ({
        ...collectMonitorInfo({ iface: param(ctx, 'DEVICE'), ip: ctx.state.clientIp ?? param(ctx, 'IPADDR'), host: host(), imageName: param(ctx, 'IMAGENAME') }),
        extra: ctx.state.transportInfo,
      });
      const m = createMonitorSink({ server: monitor, port, info, onError: (msg) => ctx.report.warn(msg) });
      ctx.report.addSink(m.sink, m.close);
      ctx.state.drains.push(m.close);
      ctx.report.info(`monitor reporting to ${monitor}:${port}`);
      // Should this worker die from a signal, PID 1 reports status -1 in its place: it needs the monitor and the fields.
      if (process.env.SI_PID1 === '1') {
        const keep = () => saveMonitorContact({ server: monitor, port, info: info() });
        keep();
        ctx.report.addSink((e) => void ((e.type === 'step-start' || e.type === 'status') && keep()));
      }
    }
    if (getBool(ctx.params, 'MONITOR_CONSOLE')) {
      try {
        const srv = await startConsoleServer({ port: 8181, logPath: ctx.opts.logPath ?? systemPaths().log });
        ctx.report.addSink(() => undefined, srv.close);
        ctx.report.info(`console log served on TCP port ${srv.port}`);
      } catch (err) {
        ctx.report.warn(`console log server not started: ${(err as Error).message}`);
      }
    }
    ctx.report.emit({ type: 'status', status: 0, message: 'started' });
  },
};
