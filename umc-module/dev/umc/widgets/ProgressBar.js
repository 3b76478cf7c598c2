// SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
// SPDX-License-Identifier: AGPL-3.0-only
// Stand-in for "umc/widgets/ProgressBar" (UCS 5.x): a component line, a dijit ProgressBar
// (0..100, Infinity = indeterminate), a message and the percentage. setInfo(component,
// message, percentage, errors, critical) skips falsy arguments (0% is ignored, as in the
// original); reset(initialComponent?); feedFromDeferred(deferred, msg) follows
// deferred.progress({component, message, percentage, errors, critical}).
/*global define*/
define([
	"dojo/_base/declare",
	"dojo/_base/lang",
	"dojo/_base/array",
	"dojo/dom-construct",
	"dojox/html/entities",
	"dijit/ProgressBar",
	"umc/widgets/ContainerWidget",
	"umc/widgets/Text"
], function(declare, lang, array, domConstruct, entities, DijitProgressBar, ContainerWidget, Text) {
	return declare("umc.widgets.ProgressBar", [ContainerWidget], {
		baseClass: 'umcProgressBar',
		_initialComponent: '',

		buildRendering: function() {
			this.inherited(arguments);
			this._component = new Text({content: '', 'class': 'umcProgressBarComponent'});
			this.addChild(this._component);
			this._progressBar = new DijitProgressBar({maximum: 100, value: 0});
			this.addChild(this._progressBar);
			var details = domConstruct.create('div', {'class': 'umcProgressDetails'}, this.domNode);
			this._messageNode = domConstruct.create('div', {'class': 'umcProgressBarMessage'}, details);
			this._percentageNode = domConstruct.create('div', {'class': 'umcProgressPercentage'}, details);
			this._progressBar.watch('value', lang.hitch(this, function(attr, oldValue, newValue) {
				/* "Infinity" may come as a string: compare loosely */
				this._percentageNode.innerHTML = newValue == Infinity ? '&nbsp;' : Math.round(newValue) + '%'; // jshint ignore:line
			}));
			this.reset();
			this.startup();
		},

		reset: function(initialComponent) {
			if (initialComponent) {
				this._initialComponent = initialComponent;
			}
			this._errors = [];
			this._criticalError = false;
			this._component.set('content', entities.encode(this._initialComponent));
			this._messageNode.innerHTML = '&nbsp;';
			this._progressBar.set('value', 0);
		},

		setInfo: function(component, message, percentage, errors, critical) {
			if (component) {
				this._component.set('content', entities.encode(component));
			}
			if (percentage) {
				this._progressBar.set('value', percentage);
			}
			if (message || component) {
				this._messageNode.innerHTML = entities.encode(message || '') || '&nbsp;';
			}
			array.forEach(errors || [], function(error) {
				if (error && array.indexOf(this._errors, error) === -1) {
					this._errors.push(error);
				}
			}, this);
			if (critical) {
				this._criticalError = true;
			}
		},

		feedFromDeferred: function(deferred, msg) {
			this.reset(msg);
			deferred.then(undefined, undefined, lang.hitch(this, function(result) {
				this.setInfo(result.component, result.message, result.percentage, result.errors, result.critical);
			}));
		},

		getErrors: function() {
			return {errors: this._errors, critical: this._criticalError};
		}
	});
});
