// SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
// SPDX-License-Identifier: AGPL-3.0-only
// The rollout page of the module "libvirt-static-ids": what `rollout status` shows (waves,
// hosts, VMs, time left) and the plan's schedule as a timeline: one row per host, time
// across, each migration a bar on its source's row and each conversion a bar on its host's
// row, coloured by wave as in `plan --html`; the step under way is highlighted. Read-only:
// the rollout itself runs from a shell (`libvirt-static-ids rollout`).
/*global define*/
define([
	"dojo/_base/declare",
	"dojo/_base/lang",
	"dojo/_base/array",
	"dojox/html/entities",
	"umc/widgets/Page",
	"umc/widgets/Text",
	"umc/i18n!umc/modules/libvirt-static-ids"
], function(declare, lang, array, entities, Page, Text, _) {
	var LABEL = 130;  // px for the host names
	var WIDTH = 800;  // px for the time axis
	var ROW = 16;
	var SWATCH = 'color:#fff;padding:0 6px;margin-right:4px;';

	var esc = function(value) {
		return entities.encode(value === null || value === undefined ? '' : String(value));
	};

	var duration = function(seconds) {
		var total = Math.round(seconds || 0);
		var hours = Math.floor(total / 3600);
		var minutes = Math.floor((total % 3600) / 60);
		if (hours) {
			return _('%(hours)s h %(minutes)s min', {hours: hours, minutes: minutes});
		}
		return _('%(minutes)s min %(seconds)s s', {minutes: minutes, seconds: total % 60});
	};

	return declare("umc.modules.libvirt-static-ids.RolloutPage", [Page], {
		// The module: its umcpCommand and standby.
		module: null,
		// Called by "Back to overview".
		onBack: null,

		postMixInProperties: function() {
			this.inherited(arguments);
			this.headerText = _('Domain rollout');
			this.helpText = _('The rolling conversion of every KVM host, as libvirt-static-ids rollout status shows it: the waves, each host with its running VMs, and the plan as a timeline. The step under way is highlighted. Start or continue the rollout on the command line with libvirt-static-ids rollout; this page changes nothing.');
			this.headerButtons = [{
				name: 'reload',
				label: _('Reload'),
				callback: lang.hitch(this, 'load')
			}, {
				name: 'close',
				label: _('Back to overview'),
				callback: lang.hitch(this, function() {
					this.onBack();
				})
			}];
		},

		buildRendering: function() {
			this.inherited(arguments);
			this._summary = new Text({'class': 'lsiRolloutSummary', content: ''});
			this._timeline = new Text({'class': 'lsiTimeline', content: ''});
			this._waves = new Text({'class': 'lsiRolloutWaves', content: ''});
			this._hosts = new Text({'class': 'lsiRolloutHosts', content: ''});
			array.forEach([this._summary, this._timeline, this._waves, this._hosts], function(widget) {
				this.addChild(widget);
			}, this);
		},

		load: function() {
			var loaded = this.module.umcpCommand('libvirt-static-ids/rollout_status').then(lang.hitch(this, function(data) {
				this.show(data.result);
			}));
			return this.module.standbyDuring(loaded);
		},

		show: function(status) {
			var static_ = array.filter(status.hosts, function(host) { return host['static']; }).length;
			var html = '<p class="lsiRolloutState" data-status="' + esc(status.status) + '">' + esc(status.status === 'converged' ?
				_('The domain has converged: every KVM host is static (%(target)s).', {target: status.target}) :
				_('Target %(target)s: %(static)s of %(hosts)s KVM hosts static; %(requests)s requests in %(waves)s waves, %(migrations)s live migrations; about %(eta)s left (estimate).', {
					target: status.target,
					'static': static_,
					hosts: status.hosts.length,
					requests: status.actions.length,
					waves: status.waves,
					migrations: status.migrations,
					eta: duration(status.eta_seconds)
				})) + '</p>';
			html += '<ul class="lsiUnderWay">' + array.map(status.in_flight, function(item) {
				var echo = item.echo || {};
				var what = {
					evacuate: item.vms && item.vms.length ?
						_('live-migrate %(vms)s to %(to)s', {vms: item.vms.join(', '), to: item.to}) :
						_('evacuation'),
					convert: _('convert %(host)s', {host: item.host}),
					refresh: _('record itself')
				}[item.kind] || item.pending || echo.id || '';
				return '<li data-host="' + esc(item.host) + '">' + esc(_('Under way on %(host)s: %(what)s (%(state)s)', {
					host: item.host,
					what: what,
					state: echo.state || _('pending')
				})) + '</li>';
			}).join('') + '</ul>';
			html += '<ul class="lsiRefusals">' + array.map(status.refusals, function(reason) {
				return '<li>' + esc(reason) + '</li>';
			}).join('') + '</ul>';
			this._summary.set('content', html);
			this._timeline.set('content', this._chart(status.timeline));
			this._waves.set('content', this._waveList(status));
			this._hosts.set('content', this._hostList(status.hosts));
		},

		_chart: function(timeline) {
			var tasks = timeline.tasks;
			if (!tasks.length) {
				return '<p class="lsiNoTimeline">' + esc(_('Nothing to schedule.')) + '</p>';
			}
			var colours = timeline.colours;
			var row = {};
			array.forEach(timeline.hosts, function(host, index) { row[host] = index; });
			var end = Math.max.apply(null, array.map(tasks, function(task) { return task.end; })) || 1;
			var scale = WIDTH / end;
			var height = ROW * timeline.hosts.length + 30;
			// Scales to the page's width (never beyond its own), as the page's column allows.
			var full = LABEL + WIDTH + 80;
			var parts = ['<svg xmlns="http://www.w3.org/2000/svg" class="lsiChart" viewBox="0 0 ' + full + ' ' + height +
				'" width="100%" style="max-width:' + full + 'px" role="img" aria-label="' + esc(_('Timeline')) + '">'];
			array.forEach(timeline.hosts, function(host, index) {
				parts.push('<text class="lsiRowLabel" x="0" y="' + (index * ROW + ROW - 4) + '">' + esc(host) + '</text>');
			});
			for (var tick = 0; tick <= 4; tick++) {
				var x = LABEL + WIDTH * tick / 4;
				parts.push('<line x1="' + x + '" y1="0" x2="' + x + '" y2="' + (height - 20) + '" stroke="#e2e8f0"/>' +
					'<text x="' + x + '" y="' + (height - 6) + '">' + esc(duration(end * tick / 4)) + '</text>');
			}
			array.forEach(tasks, function(task) {
				var colour = task.kind === 'convert' ? colours.convert : colours.waves[(task.wave - 1) % colours.waves.length];
				var what = task.kind === 'convert' ?
					_('convert %(host)s', {host: task.host}) :
					_('%(vm)s: %(host)s to %(to)s', {vm: task.name, host: task.host, to: task.to});
				var title = _('wave %(wave)s: %(what)s, %(start)s to %(end)s', {
					wave: task.wave, what: what, start: duration(task.start), end: duration(task.end)
				});
				parts.push('<rect class="lsiBar lsiBar-' + esc(task.kind) + (task.running ? ' lsiRunning' : '') +
					'" data-host="' + esc(task.host) + '" data-wave="' + esc(task.wave) +
					'" x="' + (LABEL + task.start * scale).toFixed(1) + '" y="' + (row[task.host] * ROW + 2) +
					'" width="' + Math.max(1, (task.end - task.start) * scale).toFixed(1) + '" height="' + (ROW - 4) +
					'" fill="' + esc(colour) + '"' + (task.running ? ' stroke="#e53e3e" stroke-width="3"' : '') +
					'><title>' + esc(title) + '</title></rect>');
			});
			parts.push('</svg>');
			var legend = '';
			for (var wave = 1; wave <= Math.min(timeline.waves, colours.waves.length); wave++) {
				legend += '<span style="' + SWATCH + 'background:' + esc(colours.waves[wave - 1]) + '">' + esc(_('wave %(wave)s', {wave: wave})) + '</span>';
			}
			legend += '<span style="' + SWATCH + 'background:' + esc(colours.convert) + '">' + esc(_('conversion')) + '</span>';
			legend += '<span class="lsiLegendRunning" style="padding:0 6px;border:3px solid #e53e3e">' + esc(_('under way')) + '</span>';
			return '<p class="lsiLegend">' + legend + '</p>' + parts.join('') +
				'<p class="lsiMakespan">' + esc(_('The plan takes about %(makespan)s (lower bound %(bound)s).', {
					makespan: duration(timeline.makespan_s), bound: duration(timeline.lower_bound_s)
				})) + '</p>';
		},

		_waveList: function(status) {
			var html = '';
			for (var wave = 1; wave <= status.waves; wave++) {
				var chosen = array.filter(status.actions, function(action) { return action.wave === wave; });
				html += '<h2>' + esc(_('Wave %(wave)s of %(waves)s', {wave: wave, waves: status.waves})) + '</h2><ol>' +
					array.map(chosen, function(action) {
						return '<li value="' + esc(action.number) + '">' + esc(_('on %(host)s: %(text)s', {host: action.host, text: action.text})) + '</li>';
					}).join('') + '</ol>';
			}
			return html;
		},

		_hostList: function(hosts) {
			return '<h2>' + esc(_('KVM hosts')) + '</h2><table class="lsiRolloutHostTable">' + array.map(hosts, function(host) {
				return '<tr data-host="' + esc(host.name) + '"><td>' + esc(host.name) + '</td><td>' +
					esc(host.uid + ':' + host.gid) + '</td><td>' + esc(host['static'] ? _('static') : _('dynamic')) +
					'</td><td>' + esc(host.running.length ? host.running.join(', ') : _('no running VMs')) + '</td></tr>';
			}).join('') + '</table>';
		}
	});
});
