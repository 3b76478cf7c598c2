// SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
// SPDX-License-Identifier: AGPL-3.0-only
// Stand-in for "umc/widgets/StandbyMixin" (UCS 5.x): standby(doStandby, content?) lays an
// overlay over the widget, showing a string or a widget (e.g. a ProgressBar) instead of the
// spinner; standbyDuring(deferred, content?) does so until the deferred is fulfilled and
// returns it. Nested calls are counted.
/*global define*/
define([
	"dojo/_base/declare",
	"dojo/_base/lang",
	"dojo/dom-construct",
	"dojo/dom-class",
	"dojo/dom-style"
], function(declare, lang, domConstruct, domClass, domStyle) {
	return declare("umc.widgets.StandbyMixin", null, {
		standbyOpacity: 0.8,
		_standbyCount: 0,
		_standbyNode: null,
		_standbyContent: null,

		standby: function(doStandby, content) {
			if (!this._standbyNode) {
				domClass.add(this.domNode, 'umcStandbyHost');
				this._standbyNode = domConstruct.create('div', {'class': 'umcStandby dijitHidden'}, this.domNode);
				domStyle.set(this._standbyNode, 'backgroundColor', 'rgba(255, 255, 255, ' + this.standbyOpacity + ')');
			}
			this._standbyCount = Math.max(0, this._standbyCount + (doStandby ? 1 : -1));
			if (doStandby) {
				this._showContent(content);
			}
			domClass.toggle(this._standbyNode, 'dijitHidden', this._standbyCount === 0);
			if (this._standbyCount === 0) {
				this._showContent(null);
			}
		},

		_showContent: function(content) {
			if (this._standbyContent && this._standbyContent.domNode) {
				domConstruct.place(this._standbyContent.domNode, domConstruct.create('div'));
			}
			domConstruct.empty(this._standbyNode);
			this._standbyContent = content || null;
			if (content && content.domNode) {
				domConstruct.place(content.domNode, this._standbyNode);
			} else if (typeof content === 'string') {
				domConstruct.create('div', {'class': 'umcStandbyText', innerHTML: content}, this._standbyNode);
			} else {
				domConstruct.create('div', {'class': 'umcStandbySpinner'}, this._standbyNode);
			}
		},

		standbyDuring: function(deferred, content) {
			this.standby(true, content);
			var end = lang.hitch(this, 'standby', false);
			deferred.then(end, end);
			return deferred;
		}
	});
});
