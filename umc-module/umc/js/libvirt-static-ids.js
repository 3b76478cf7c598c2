// SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
// SPDX-License-Identifier: AGPL-3.0-only
// UMC module "libvirt-static-ids": every KVM host's libvirt-qemu numbers and state, what
// blocks the fix, and the actions: refresh, convert this host when it is a dynamic or
// conflicting KVM host (dry run first, then confirm, with progress; the conversion runs as
// a transient unit on the host, so a reopened module finds it again), ask other hosts to
// refresh or convert (through LDAP), or open their own UMC.
// Every decision is the backend's (the core's); this file shows, asks and reports.
/*global define*/
define([
	"dojo/_base/declare",
	"dojo/_base/lang",
	"dojo/_base/array",
	"dojo/_base/kernel",
	"dojo/dom-class",
	"dojo/store/Memory",
	"dojo/store/Observable",
	"dojox/html/entities",
	"umc/dialog",
	"umc/tools",
	"umc/widgets/Module",
	"umc/widgets/Page",
	"umc/widgets/Grid",
	"umc/widgets/Text",
	"umc/widgets/TextBox",
	"umc/widgets/CheckBox",
	"umc/widgets/Button",
	"umc/widgets/ProgressBar",
	"./libvirt-static-ids/RolloutPage",
	"umc/i18n!umc/modules/libvirt-static-ids",
	"xstyle/css!./libvirt-static-ids.css"
], function(declare, lang, array, kernel, domClass, Memory, Observable, entities, dialog, tools, Module, Page,
		Grid, Text, TextBox, CheckBox, Button, ProgressBar, RolloutPage, _) {
	var COMMAND = 'libvirt-static-ids/';
	var CHANGES_LISTED = 5;

	var esc = function(value) {
		return entities.encode(value === null || value === undefined ? '' : String(value));
	};

	var escapeRegExp = function(text) {
		return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
	};

	// What each blocker code means, in the reader's language; the core's message (English,
	// with the specifics: PIDs, accounts, paths) follows it.
	var blockerTexts = function() {
		return {
			'target-uid-taken': _('The target UID belongs to another account.'),
			'target-gid-taken': _('The target GID belongs to another group.'),
			'group-missing': _('The group libvirt-qemu is missing.'),
			'processes-running': _('Processes run as libvirt-qemu (running VMs): migrate or stop them first.'),
			'qemu-runs-as-other-user': _('QEMU is configured to run as another user.'),
			'dac-label-pinned': _('A VM pins the old numbers in its DAC security label.'),
			'home-owned-by-user': _('The home directory of libvirt-qemu belongs to it: usermod would change it unjournaled.'),
			'shadow-chowns-home': _('usermod would change the ownership of the home directory unjournaled.'),
			'run-interrupted': _('A conversion was interrupted: resume it or roll it back.'),
			'run-failed': _('The last conversion failed.'),
			'half-converted': _('libvirt-qemu is half renumbered and no journal says from what.'),
			'journal-unreadable': _('The journal of this host cannot be read.'),
			'old-uid-taken': _('The old UID also belongs to another account.'),
			'old-gid-taken': _('The old GID also belongs to another group.'),
			'account-file-invalid': _('An account file cannot be read in full.'),
			'account-entry-malformed': _('An account file has a malformed entry.'),
			'account-entry-duplicate': _('An account file names an account twice.'),
			'scan-path-unresolved': _("One of libvirt's directories leads nowhere inside the host.")
		};
	};

	var blockerText = function(blocker) {
		return blockerTexts()[blocker.code] || _('Unknown blocker %s.', blocker.code);
	};

	var blockerList = function(blockers) {
		return '<ul class="lsiBlockers">' + array.map(blockers, function(blocker) {
			return '<li><code>' + esc(blocker.code) + '</code> <span class="lsiBlockerText">' + esc(blockerText(blocker)) +
				'</span><br><span class="lsiBlockerDetail">' + esc(blocker.message) + '</span></li>';
		}).join('') + '</ul>';
	};

	// Only a KVM host whose numbers are not the target's yet can be converted: a dynamic or
	// conflicting one, or one whose conversion was refused (it changed nothing).
	var CONVERTIBLE = ['dynamic', 'conflict'];
	var refused = function(item) {
		return item.state === 'failed' && Boolean(item.error) && item.error.code === 'refused';
	};
	var convertible = function(item) {
		return array.indexOf(CONVERTIBLE, item.state) !== -1 || refused(item);
	};

	return declare("umc.modules.libvirt-static-ids", [Module], {
		standbyOpacity: 0.75,

		_survey: null,
		_thisHost: null,
		_store: null,
		_grid: null,

		stateLabels: function() {
			return {
				'static': _('static'),
				dynamic: _('dynamic'),
				absent: _('no libvirt-qemu'),
				conflict: _('conflict'),
				converting: _('converting'),
				failed: _('failed')
			};
		},

		buildRendering: function() {
			this.inherited(arguments);
			this._store = new Observable(new Memory({idProperty: 'dn', data: []}));
			this._progressBar = new ProgressBar({});
			this.own(this._progressBar);
			this._renderOverview();
			this._renderDetails();
			this._rolloutPage = new RolloutPage({module: this, onBack: lang.hitch(this, 'showOverview')});
			this.addChild(this._rolloutPage);
		},

		showRollout: function() {
			this.selectChild(this._rolloutPage);
			return this._rolloutPage.load();
		},

		postCreate: function() {
			this.inherited(arguments);
			this.refresh();
		},

		// -- overview ------------------------------------------------------------------------

		_renderOverview: function() {
			this._overviewPage = new Page({
				fullWidth: true,
				headerButtons: [{
					name: 'settings',
					label: _('Target numbers'),
					callback: lang.hitch(this, 'editTarget')
				}],
				headerText: _('libvirt-qemu IDs in the domain'),
				helpText: _('Live migration of VMs on NFS needs the same numeric UID and GID of libvirt-qemu on every KVM host. This page shows what each host recorded in the directory, what blocks its conversion to the static IDs, and lets you convert this host or ask other hosts to convert. To convert the whole domain with its VMs running: free the target, then run libvirt-static-ids rollout --dry-run and libvirt-static-ids rollout as a Domain Admin (see the description of the app).')
			});
			this._summary = new Text({region: 'nav', 'class': 'lsiSummary', content: ''});
			this._holders = new Text({region: 'nav', 'class': 'lsiHolders dijitDisplayNone', content: ''});
			this._search = new TextBox({
				region: 'nav',
				name: 'pattern',
				'class': 'lsiSearch',
				inlineLabel: _('Search hosts'),
				intermediateChanges: true,
				onChange: lang.hitch(this, '_filter')
			});
			// Shown only on a dynamic or conflicting KVM host: the one UMC runs on, named.
			this._convertHere = new Button({
				region: 'nav',
				'class': 'lsiConvertHere',
				label: _('Convert this host'),
				defaultButton: true,
				visible: false,
				callback: lang.hitch(this, 'convertThisHost')
			});
			this._overviewPage.addChild(this._summary);
			this._overviewPage.addChild(this._holders);
			this._overviewPage.addChild(this._convertHere);
			this._overviewPage.addChild(this._search);

			var labels = this.stateLabels();
			this._grid = new Grid({
				moduleStore: this._store,
				defaultAction: 'details',
				sortIndex: 1,
				columns: [{
					name: 'name',
					label: _('Host'),
					formatter: lang.hitch(this, function(name, item) {
						var html = esc(name);
						if (item.this_host) {
							html += ' <span class="lsiThisHost">' + esc(_('(this host)')) + '</span>';
						}
						return html;
					})
				}, {
					name: 'uid',
					label: _('UID'),
					width: '90px',
					formatter: function(value) {
						return value === null || value === undefined ? '&ndash;' : esc(value);
					}
				}, {
					name: 'gid',
					label: _('GID'),
					width: '90px',
					formatter: function(value) {
						return value === null || value === undefined ? '&ndash;' : esc(value);
					}
				}, {
					name: 'state',
					label: _('State'),
					width: '170px',
					formatter: function(state, item) {
						// A refused conversion changed nothing: its host is not "failed".
						var wasRefused = refused(item);
						var html = '<span class="lsiState lsiState-' + esc(wasRefused ? 'refused' : (state || 'unknown')) + '">' +
							esc(item.missing ? _('no record') : (wasRefused ? _('refused') : (labels[state] || state || _('unknown')))) + '</span>';
						if (item.request) {
							html += ' <span class="lsiRequest">' + esc(_('%s requested', item.request)) + '</span>';
						}
						return html;
					}
				}, {
					name: 'checked',
					label: _('Last check'),
					width: '190px',
					formatter: function(checked, item) {
						if (!checked) {
							return esc(_('never'));
						}
						var html = esc(new Date(checked).toLocaleString(kernel.locale));
						if (item.stale) {
							html += ' <span class="lsiStale">' + esc(_('stale')) + '</span>';
						}
						return html;
					}
				}, {
					name: 'blockers',
					label: _('Blockers'),
					formatter: function(blockers) {
						if (!blockers || !blockers.length) {
							return '';
						}
						return array.map(blockers, function(blocker) {
							return '<span class="lsiBlockerCode" title="' + esc(blockerText(blocker) + ' ' + blocker.message) + '">' + esc(blocker.code) + '</span>';
						}).join(' ');
					}
				}],
				actions: [{
					name: 'refresh',
					label: _('Refresh'),
					isContextAction: false,
					isStandardAction: true,
					callback: lang.hitch(this, 'refresh')
				}, {
					name: 'rollout',
					label: _('Domain rollout'),
					isContextAction: false,
					isStandardAction: true,
					callback: lang.hitch(this, 'showRollout')
				}, {
					name: 'details',
					label: _('Details'),
					isStandardAction: true,
					isMultiAction: false,
					callback: lang.hitch(this, function(ids, items) {
						this.showDetails(items[0]);
					})
				}, {
					name: 'request-convert',
					label: _('Request conversion'),
					isStandardAction: true,
					isMultiAction: true,
					enablingMode: 'some',
					canExecute: convertible,
					callback: lang.hitch(this, 'requestOn', 'convert')
				}, {
					name: 'request-refresh',
					label: _('Request refresh'),
					isStandardAction: true,
					isMultiAction: true,
					callback: lang.hitch(this, 'requestOn', 'refresh')
				}]
			});
			this._overviewPage.addChild(this._grid);
			this.addChild(this._overviewPage);
		},

		refresh: function() {
			var loaded = this.umcpCommand(COMMAND + 'survey').then(lang.hitch(this, function(data) {
				this._showSurvey(data.result);
			}));
			return this.standbyDuring(loaded);
		},

		_showSurvey: function(survey) {
			this._survey = survey;
			this._thisHost = survey.this_host || {};
			var states = survey.summary.states;
			var target = survey.settings.target;
			var tile = function(key, count, label) {
				return '<div class="lsiTile lsiTile-' + key + '" data-count="' + key + '"><span class="lsiCount">' +
					esc(count || 0) + '</span><span class="lsiLabel">' + esc(label) + '</span></div>';
			};
			this._summary.set('content',
				'<div class="lsiTiles">' +
				tile('static', states['static'], _('static')) +
				tile('dynamic', states.dynamic, _('dynamic')) +
				tile('conflict', states.conflict, _('conflicts')) +
				tile('stale', survey.summary.stale, _('stale')) +
				'</div><p class="lsiTarget">' +
				esc(_('Target: UID %(uid)s, GID %(gid)s.', {uid: target.uid, gid: target.gid}) + ' ' +
					_.ngettext('%(hosts)d host', '%(hosts)d hosts', survey.summary.hosts, {hosts: survey.summary.hosts}) + ', ' +
					_.ngettext('%(classes)d ID class', '%(classes)d ID classes', survey.summary.classes, {classes: survey.summary.classes}) + '; ' +
					_('surveyed %s.', new Date(survey.surveyed_at).toLocaleString(kernel.locale))) + '</p>' + this._otherStates(survey));
			this._showHolders(survey.holders, target);
			var thisDn = this._thisHost.dn;
			this._store.setData(array.map(survey.hosts, function(host) {
				return lang.mixin({}, host, {this_host: host.dn === thisDn});
			}));
			this._here = thisDn ? this._store.get(thisDn) : null;
			var convertible = this._convertible(this._here);
			this._convertHere.set('label', _('Convert %s', this._thisHost.name || ''));
			this._convertHere.set('visible', convertible);
			this._filter();
			if (this._thisHost.conversion && !this._following) {
				this._attach();
			}
			if (this._detailItem) {
				var current = this._store.get(this._detailItem.dn);
				if (current) {
					this._showDetailContent(current);
				}
			}
		},

		_convertible: function(item) {
			return Boolean(item && item.this_host && convertible(item));
		},

		// Where the host's own UMC serves this module (a conversion runs on the host itself).
		_umcLink: function(item) {
			var domain = this._thisHost.domainname || tools.status('domainname');
			var fqdn = domain ? item.name + '.' + domain : item.name;
			return 'https://' + fqdn + '/univention/management/#module=libvirt-static-ids::0:';
		},

		_otherStates: function(survey) {
			var labels = this.stateLabels();
			var others = [];
			var states = survey.summary.states;
			array.forEach(['converting', 'failed', 'absent', 'unknown'], function(state) {
				if (states[state]) {
					others.push(esc((labels[state] || _('unknown')) + ': ' + states[state]));
				}
			});
			if (survey.summary.missing) {
				others.push(esc(_('no record') + ': ' + survey.summary.missing));
			}
			return others.length ? '<p class="lsiOtherStates">' + others.join(' &middot; ') + '</p>' : '';
		},

		_showHolders: function(holders, target) {
			domClass.toggle(this._holders.domNode, 'dijitDisplayNone', !holders.length);
			if (!holders.length) {
				this._holders.set('content', '');
				return;
			}
			var items = array.map(holders, function(holder) {
				var holds = array.map(holder.holds, function(what) {
					return what === 'uid' ? _('uidNumber %s', holder.uidNumber) : _('gidNumber %s', holder.gidNumber);
				}).join(', ');
				return '<li><strong>' + esc(holder.name) + '</strong> (' + esc(holder.kind) + ', ' + esc(holds) +
					')<br><span class="lsiDn">' + esc(holder.dn) + '</span></li>';
			});
			this._holders.set('content', '<p>' + esc(_('These LDAP objects hold the target numbers (UID %(uid)s, GID %(gid)s). A user or group holding them keeps every host from converting; anything else holding them shares files with libvirt-qemu on NFS. Give them other numbers.', target)) +
				'</p><ul>' + items.join('') + '</ul>');
		},

		_filter: function() {
			var pattern = lang.trim(this._search.get('value') || '');
			this._grid.filter(pattern ? {name: new RegExp(escapeRegExp(pattern), 'i')} : {});
		},

		// -- details -------------------------------------------------------------------------

		_renderDetails: function() {
			this._detailPage = new Page({
				fullWidth: true,
				headerText: '',
				helpText: _('What the host recorded in the directory. The live state of this host is checked on request.'),
				headerButtons: [{
					name: 'close',
					label: _('Back to overview'),
					callback: lang.hitch(this, 'showOverview')
				}]
			});
			this._detailText = new Text({'class': 'lsiDetails', content: ''});
			this._liveText = new Text({'class': 'lsiLive dijitDisplayNone', content: ''});
			this._otherUmc = new Text({'class': 'lsiOtherUmc dijitDisplayNone', content: ''});
			this._detailPage.addChild(this._detailText);
			this._detailPage.addChild(this._liveText);
			this._detailButtons = {
				check: new Button({label: _('Check this host now'), callback: lang.hitch(this, 'checkThisHost')}),
				convert: new Button({label: _('Convert this host'), defaultButton: true, callback: lang.hitch(this, 'convertThisHost')}),
				requestConvert: new Button({label: _('Request conversion'), callback: lang.hitch(this, function() {
					this.requestOn('convert', [this._detailItem.dn], [this._detailItem]);
				})}),
				requestRefresh: new Button({label: _('Request refresh'), callback: lang.hitch(this, function() {
					this.requestOn('refresh', [this._detailItem.dn], [this._detailItem]);
				})})
			};
			for (var name in this._detailButtons) {
				if (this._detailButtons.hasOwnProperty(name)) {
					this._detailPage.addChild(this._detailButtons[name]);
				}
			}
			this._detailPage.addChild(this._otherUmc);
			this.addChild(this._detailPage);
		},

		showOverview: function() {
			this._detailItem = null;
			this.resetTitle();
			this.selectChild(this._overviewPage);
		},

		showDetails: function(item) {
			this._detailItem = item;
			this._liveText.set('content', '');
			domClass.add(this._liveText.domNode, 'dijitDisplayNone');
			this._showDetailContent(item);
			this.selectChild(this._detailPage);
		},

		_showDetailContent: function(item) {
			var labels = this.stateLabels();
			var row = function(label, value) {
				return '<tr><th>' + esc(label) + '</th><td>' + value + '</td></tr>';
			};
			var html = '<table class="lsiFacts">' +
				row(_('Computer object'), '<span class="lsiDn">' + esc(item.dn) + '</span>') +
				row(_('State'), esc(item.missing ? _('no record') : (labels[item.state] || item.state || _('unknown')))) +
				row(_('UID'), esc(item.uid === null ? '–' : item.uid)) +
				row(_('GID'), esc(item.gid === null ? '–' : item.gid)) +
				row(_('ID class'), esc(item['class'] || '–')) +
				row(_('Last check'), esc(item.checked ? new Date(item.checked).toLocaleString(kernel.locale) : _('never')) +
					(item.stale ? ' <span class="lsiStale">' + esc(_('stale')) + '</span>' : '')) +
				row(_('Pending request'), esc(item.request || _('none'))) +
				'</table>';
			if (item.blockers.length) {
				html += '<h3>' + esc(_('Blockers')) + '</h3>' + blockerList(item.blockers);
			} else {
				html += '<p>' + esc(_('No blockers recorded.')) + '</p>';
			}
			if (item.error) {
				html += '<div class="lsiFailure"><h3>' + esc(item.error.code === 'refused' ?
					_('The last conversion was refused; nothing was changed') : _('The last conversion failed')) +
					'</h3><p>' + esc(item.error.message) + '</p></div>';
			}
			if (item.problems.length) {
				html += '<h3>' + esc(_('Problems in the record')) + '</h3><ul>' + array.map(item.problems, function(problem) {
					return '<li>' + esc(problem) + '</li>';
				}).join('') + '</ul>';
			}
			this._detailPage.set('headerText', item.name);
			this._detailText.set('content', html);
			var other = convertible(item) && !item.this_host;
			this._detailButtons.check.set('visible', Boolean(item.this_host));
			this._detailButtons.convert.set('label', _('Convert %s', item.name));
			this._detailButtons.convert.set('visible', this._convertible(item));
			this._detailButtons.requestConvert.set('visible', other);
			// Another host converts in its own UMC, or through a request its listener carries out.
			domClass.toggle(this._otherUmc.domNode, 'dijitDisplayNone', !other);
			this._otherUmc.set('content', '<a class="lsiOtherUmcLink" target="_blank" rel="noopener" href="' +
				esc(this._umcLink(item)) + '">' + esc(_('Open this module in the UMC of %s', item.name)) + '</a>');
			this.addBreadCrumb(item.name);
		},

		checkThisHost: function() {
			var checked = this.umcpCommand(COMMAND + 'host').then(lang.hitch(this, function(data) {
				var survey = data.result.survey;
				var labels = this.stateLabels();
				var html = '<h3>' + esc(_('Live check of %s', data.result.host.name || '')) + '</h3><p>' +
					esc(_('libvirt-qemu is UID %(uid)s, GID %(gid)s: %(verdict)s.', {
						uid: survey.uid === null ? '–' : survey.uid,
						gid: survey.gid === null ? '–' : survey.gid,
						verdict: labels[survey.verdict] || survey.verdict
					})) + '</p>';
				var blockers = survey.blockers.concat(data.result.directory_blockers || []);
				html += blockers.length ? blockerList(blockers) : '<p>' + esc(_('No blockers.')) + '</p>';
				this._liveText.set('content', html);
				domClass.remove(this._liveText.domNode, 'dijitDisplayNone');
			}));
			return this.standbyDuring(checked);
		},

		// -- requests to other hosts ---------------------------------------------------------

		requestOn: function(action, ids, items) {
			if (!ids.length) {
				return;
			}
			var names = array.map(items, function(item) {
				return '<li>' + esc(item.name) + '</li>';
			}).join('');
			var question = action === 'convert' ?
				_('Ask these hosts to convert libvirt-qemu to the static IDs? Each host starts when directory replication brings the request, and refuses if something blocks it.') :
				_('Ask these hosts to check libvirt-qemu again and record the result?');
			dialog.confirm('<p>' + esc(question) + '</p><ul class="lsiRequestHosts">' + names + '</ul>', [{
				name: 'cancel',
				label: _('Cancel')
			}, {
				name: 'request',
				label: action === 'convert' ? _('Request conversion') : _('Request refresh'),
				'default': true
			}], action === 'convert' ? _('Request conversion') : _('Request refresh')).then(lang.hitch(this, function(response) {
				if (response !== 'request') {
					return;
				}
				var sent = this.umcpCommand(COMMAND + 'request', {hosts: ids, action: action}).then(lang.hitch(this, function(data) {
					var requested = array.filter(data.result.hosts, function(host) {
						return host.status === 'requested';
					}).length;
					var pending = data.result.hosts.length - requested;
					var text = _.ngettext('Request sent to %d host.', 'Request sent to %d hosts.', requested, requested);
					if (pending) {
						text += ' ' + _.ngettext('%d host already had it pending.', '%d hosts already had it pending.', pending, pending);
					}
					this.addNotification(esc(text));
					return this.refresh();
				}));
				this.standbyDuring(sent);
			}));
		},

		// -- the domain's target numbers (settings show / settings set) ---------------------

		editTarget: function() {
			var shown = this.umcpCommand(COMMAND + 'settings').then(lang.hitch(this, function(data) {
				var target = data.result.target;
				return dialog.confirmForm({
					title: _('Target numbers'),
					widgets: [{
						type: Text,
						name: 'help',
						content: '<p>' + esc(_('Every KVM host is converted to these numbers, and the directory keeps them from every other user, group and computer. A new pair is checked first: it must be free in the directory and on every recorded host.')) + '</p>'
					}, {
						type: TextBox,
						name: 'uid',
						label: _('UID of libvirt-qemu'),
						value: String(target.uid)
					}, {
						type: TextBox,
						name: 'gid',
						label: _('GID of libvirt-qemu'),
						value: String(target.gid)
					}],
					submit: _('Check')
				}).then(lang.hitch(this, '_checkTarget'));
			}));
			this.standbyDuring(shown);
		},

		_setTarget: function(values, dryRun) {
			return this.umcpCommand(COMMAND + 'settings_set', {uid: lang.trim(values.uid || ''), gid: lang.trim(values.gid || ''), dry_run: dryRun});
		},

		_checkTarget: function(values) {
			var checked = this._setTarget(values, true).then(lang.hitch(this, function(data) {
				var result = data.result;
				if (result.status === 'refused') {
					dialog.alert('<p>' + esc(_('The pair cannot be the target; nothing was changed.')) + '</p>' + blockerList(result.blockers),
						_('Target numbers refused'));
					return;
				}
				if (!result.changed) {
					dialog.alert(esc(_('UID %(uid)s, GID %(gid)s is the target already.', result['new'])), _('Target numbers'));
					return;
				}
				var html = '<p>' + esc(_('UID %(uid)s, GID %(gid)s is free and can become the target.', result['new'])) + '</p><p>' +
					esc(_.ngettext('%d host will be asked to record itself again.', '%d hosts will be asked to record themselves again.',
						result.hosts.length, result.hosts.length)) + '</p>';
				dialog.confirm(html, [{
					name: 'cancel',
					label: _('Cancel')
				}, {
					name: 'set',
					label: _('Change the target'),
					'default': true
				}], _('New target numbers')).then(lang.hitch(this, function(response) {
					if (response === 'set') {
						var set = this._setTarget(values, false).then(lang.hitch(this, function(answer) {
							if (answer.result.status === 'refused') {
								dialog.alert('<p>' + esc(answer.result.message) + '</p>' + blockerList(answer.result.blockers), _('Target numbers refused'));
								return;
							}
							this.addNotification(esc(_('The target is now UID %(uid)s, GID %(gid)s.', answer.result['new'])));
							return this.refresh();
						}));
						this.standbyDuring(set);
					}
				}));
			}));
			this.standbyDuring(checked);
		},

		// -- converting this host ------------------------------------------------------------

		convertThisHost: function() {
			var name = (this._thisHost && this._thisHost.name) || '';
			dialog.confirmForm({
				title: _('Convert %s', name),
				widgets: [{
					type: Text,
					name: 'help',
					content: '<p>' + esc(_('First a dry run shows what the conversion would change; nothing is changed before you confirm.')) + '</p>'
				}, {
					type: TextBox,
					name: 'paths',
					label: _('More paths to repair (absolute, separated by commas; e.g. the NFS image directory)'),
					value: ''
				}, {
					type: CheckBox,
					name: 'restart',
					label: _('Restart libvirtd after renumbering'),
					value: true
				}],
				submit: _('Dry run')
			}).then(lang.hitch(this, function(values) {
				var paths = array.filter(array.map((values.paths || '').split(','), lang.trim), function(path) {
					return path;
				});
				this._dryRun({paths: paths, restart: values.restart !== false});
			}));
		},

		// A busy host (a conversion or another run holds its lock) is no server error.
		_busyHandler: function() {
			return {
				display409: function(info) {
					dialog.alert('<p>' + esc(info.message) + '</p>', _('This host is busy'));
				}
			};
		},

		_dryRun: function(options) {
			var planned = this.umcpCommand(COMMAND + 'dry_run', options, this._busyHandler()).then(lang.hitch(this, function(data) {
				this._confirmConversion(data.result, options);
			}));
			this.standbyDuring(planned);
		},

		_confirmConversion: function(report, options) {
			var name = report.host.name || '';
			if (report.status === 'already-static' || report.status === 'absent') {
				dialog.alert(esc(report.status === 'absent' ?
					_('libvirt-qemu does not exist on %s: there is nothing to convert.', name) :
					_('libvirt-qemu on %s already has the static IDs: there is nothing to do.', name)), _('Dry run'));
				return;
			}
			var survey = report.survey;
			var blockers = survey.blockers.concat(report.directory_blockers || []);
			var html = '<p>' + esc(report.status === 'would-resume' ?
				_('An interrupted conversion (run %s) would be resumed.', report.run_id) :
				_('libvirt-qemu is UID %(uid)s, GID %(gid)s and would become UID %(tuid)s, GID %(tgid)s.', {
					uid: survey.uid, gid: survey.gid, tuid: survey.target.uid, tgid: survey.target.gid
				})) + '</p>';
			if (blockers.length) {
				html += '<div class="lsiWarning"><p>' + esc(_.ngettext(
					'This blocker stands in the way: the conversion cannot start until it is removed.',
					'These blockers stand in the way: the conversion cannot start until they are removed.',
					blockers.length)) + '</p>' + blockerList(blockers) + '</div>';
			}
			html += '<h3>' + esc(_('Steps')) + '</h3><ol class="lsiSteps">' + array.map(report.steps, function(step) {
				return '<li><code>' + esc(step) + '</code></li>';
			}).join('') + '</ol>';
			html += '<p class="lsiChangeCount">' + esc(_.ngettext('%d file or directory would change.',
				'%d files and directories would change.', report.change_count, report.change_count)) + '</p>';
			if (report.changes.length) {
				html += '<ul class="lsiChanges">' + array.map(report.changes.slice(0, CHANGES_LISTED), function(change) {
					return '<li><code>' + esc(change.path) + '</code></li>';
				}).join('') + (report.change_count > CHANGES_LISTED ? '<li>…</li>' : '') + '</ul>';
			}
			// With blockers there is nothing to confirm: the dialog only closes.
			var buttons = blockers.length ? [{
				name: 'close',
				label: _('Close'),
				'default': true
			}] : [{
				name: 'cancel',
				label: _('Cancel')
			}, {
				name: 'convert',
				label: _('Convert'),
				'default': true
			}];
			dialog.confirm(html, buttons, _('Dry run on %s', name)).then(lang.hitch(this, function(response) {
				if (response === 'convert') {
					this._convert(options);
				}
			}));
		},

		_convert: function(options) {
			this._progressBar.reset(_('Starting the conversion'));
			this._follow(this.umcpProgressCommand(this._progressBar, COMMAND + 'convert', options, this._busyHandler()));
		},

		// A conversion started earlier (by this module or another session) runs as a unit of
		// its own on this host: show its progress again until it ends.
		_attach: function() {
			this._progressBar.reset(_('A conversion of this host is running'));
			this._follow(this.umcpProgressCommand(this._progressBar, COMMAND + 'attach', {}));
		},

		_follow: function(converted) {
			this._following = converted;
			this.standbyDuring(converted, this._progressBar);
			converted.then(lang.hitch(this, '_converted'), lang.hitch(this, 'refresh'));
		},

		_converted: function(result) {
			this._following = null;
			var name = (result.host && result.host.name) || '';
			if (result.status === 'refused') {
				dialog.alert('<p>' + esc(_('The conversion was refused; nothing was changed.')) + ' ' + esc(_.ngettext(
					'This blocker stands in the way:', 'These blockers stand in the way:', result.blockers.length)) +
					'</p>' + blockerList(result.blockers), _('Conversion of %s refused', name));
				return this.refresh();
			}
			if (result.status === 'failed') {
				dialog.alert('<div class="lsiFailure"><p>' + esc(_('The conversion of %s failed.', name)) + '</p><p>' +
					esc(result.message || '') + '</p><p>' + esc(_('The journal keeps every change: run the conversion again to resume it, or roll it back.')) +
					'</p></div>', _('Conversion of %s failed', name));
				return this.refresh();
			}
			var repair = result.repair || {scanned: 0, changed: 0, problems: []};
			var html = '<p>' + esc(result.status === 'converted' ?
				_('libvirt-qemu on %(name)s now has UID %(uid)s, GID %(gid)s.', {name: name, uid: result.record.uid, gid: result.record.gid}) :
				_('The conversion of %(name)s ended with status "%(status)s".', {name: name, status: result.status})) + '</p><p>' +
				// ngettext takes n plus one more argument only: one placeholder per sentence.
				esc(_.ngettext('%d entry repaired', '%d entries repaired', repair.changed, repair.changed) + '; ' +
					_('%(scanned)s scanned; run %(run)s.', {scanned: repair.scanned, run: result.run_id || '–'})) + '</p>';
			if (repair.problems.length) {
				html += '<div class="lsiWarning"><p>' + esc(_('Problems:')) + '</p><ul>' + array.map(repair.problems, function(problem) {
					return '<li><code>' + esc(problem.path) + '</code> ' + esc(problem.reason) + '</li>';
				}).join('') + '</ul></div>';
			}
			dialog.alert(html, _('Conversion of %s', name));
			return this.refresh();
		}
	});
});
