// SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
// SPDX-License-Identifier: AGPL-3.0-only
// Stand-in for "umc/widgets/Module" (UCS 5.x): a module tab with a header (its title, HTML,
// and the selected page's headerButtons) over a stack of pages: addChild/removeChild/
// selectChild act on the stack, each child is one page; addBreadCrumb(name) appends an
// escaped name to the title, resetTitle() undoes it. Also _ModuleMixin and StandbyMixin.
/*global define*/
define([
	"dojo/_base/declare",
	"dojo/_base/lang",
	"dojo/_base/array",
	"dojo/dom-construct",
	"dojo/dom-class",
	"dojox/html/entities",
	"dijit/layout/StackContainer",
	"umc/widgets/ContainerWidget",
	"umc/widgets/_ModuleMixin",
	"umc/widgets/StandbyMixin",
	"umc/widgets/Button"
], function(declare, lang, array, domConstruct, domClass, entities, StackContainer, ContainerWidget, _ModuleMixin, StandbyMixin, Button) {
	return declare("umc.widgets.Module", [ContainerWidget, _ModuleMixin, StandbyMixin], {
		baseClass: 'umcModule',
		defaultTitle: null,
		selectedChildWidget: null,
		__container: null,

		postMixInProperties: function() {
			this.inherited(arguments);
			this.defaultTitle = this.title;
			this.__container = new StackContainer({
				baseClass: 'dijitStackContainer umcModuleContent',
				doLayout: false
			});
			this.__container.watch('selectedChildWidget', lang.hitch(this, function(name, oldValue, newValue) {
				this.set('selectedChildWidget', newValue);
				this._refreshHeaderButtons();
			}));
		},

		buildRendering: function() {
			this.inherited(arguments);
			this._top = domConstruct.create('div', {'class': 'umcModuleHeader'}, this.domNode);
			this._titleNode = domConstruct.create('h2', {'class': 'umcModuleTitle'}, this._top);
			this._buttonsNode = domConstruct.create('div', {'class': 'umcModuleHeaderRight__buttons'}, this._top);
			this._titleNode.innerHTML = this.title || '';
			var wrapper = domConstruct.create('div', {'class': 'umcModuleWrapper'}, this.domNode);
			this.__container.placeAt(wrapper);
			this.containerNode = this.__container.containerNode;
		},

		_setTitleAttr: function(title) {
			this._set('title', title);
			if (this._titleNode) {
				this._titleNode.innerHTML = title || '';
			}
		},

		resetTitle: function() {
			this.set('title', this.defaultTitle);
		},

		addBreadCrumb: function(name) {
			this.set('title', '<span class="umcModuleTitleBreadCrumb">' + this.defaultTitle +
				'</span><span class="umcModuleTitleBreadCrumbSeperator"> › </span><span>' +
				entities.encode(name) + '</span>');
		},

		addChild: function(child, idx) {
			var result = this.__container.addChild(child, idx);
			this._refreshHeaderButtons();
			return result;
		},

		removeChild: function(child) {
			return this.__container.removeChild(child);
		},

		selectChild: function(child, animate) {
			return this.__container.selectChild(child, animate);
		},

		_refreshHeaderButtons: function() {
			if (!this._buttonsNode) {
				return;
			}
			array.forEach(this._headerButtons || [], function(button) {
				button.destroyRecursive();
			});
			this._headerButtons = [];
			var child = this.__container.get('selectedChildWidget');
			array.forEach((child && child.headerButtons) || [], function(conf) {
				var button = new Button(lang.mixin({'class': 'ucsNormalButton'}, conf));
				button.placeAt(this._buttonsNode);
				this._headerButtons.push(button);
			}, this);
		},

		startup: function() {
			this.__container.startup();
			this.inherited(arguments);
			this._refreshHeaderButtons();
		}
	});
});
