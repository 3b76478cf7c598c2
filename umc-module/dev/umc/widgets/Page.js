// SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
// SPDX-License-Identifier: AGPL-3.0-only
// Stand-in for "umc/widgets/Page" (UCS 5.x): one page of a module, with an escaped
// headerText, an HTML helpText, and children placed by their region: 'nav' (top), 'main'
// (default) or 'footer'. The module shows its headerButtons ([{name, label, callback}]).
/*global define*/
define([
	"dojo/_base/declare",
	"dojo/dom-construct",
	"dojox/html/entities",
	"umc/widgets/ContainerWidget"
], function(declare, domConstruct, entities, ContainerWidget) {
	return declare("umc.widgets.Page", [ContainerWidget], {
		baseClass: 'umcPage',
		headerText: null,
		helpText: null,
		headerTextAllowHTML: false,
		helpTextAllowHTML: true,
		title: '',
		noFooter: false,
		fullWidth: false,

		buildRendering: function() {
			this.inherited(arguments);
			var header = domConstruct.create('div', {'class': 'umcPageHeader'}, this.domNode);
			this._headerTextNode = domConstruct.create('h1', {'class': 'umcPageHeaderText'}, header);
			this._helpTextNode = domConstruct.create('div', {'class': 'umcPageHelpText'}, header);
			this._nav = new ContainerWidget({'class': 'umcPageNav'});
			this._main = new ContainerWidget({'class': 'umcPageMain'});
			this._footer = new ContainerWidget({'class': 'umcPageFooter'});
			this._nav.placeAt(this.domNode);
			this._main.placeAt(this.domNode);
			this._footer.placeAt(this.domNode);
			this.own(this._nav, this._main, this._footer);
		},

		_setHeaderTextAttr: function(text) {
			this._set('headerText', text);
			this._headerTextNode.innerHTML = this.headerTextAllowHTML ? (text || '') : entities.encode(text || '');
		},

		_setHelpTextAttr: function(text) {
			this._set('helpText', text);
			this._helpTextNode.innerHTML = this.helpTextAllowHTML ? (text || '') : entities.encode(text || '');
		},

		addChild: function(widget, position) {
			var region = widget.region || 'main';
			if (region === 'nav' || region === 'top' || region === 'left') {
				return this._nav.addChild(widget, position);
			}
			if (region === 'footer' || region === 'bottom') {
				return this._footer.addChild(widget, position);
			}
			return this._main.addChild(widget, position);
		},

		startup: function() {
			this.inherited(arguments);
			this._nav.startup();
			this._main.startup();
			this._footer.startup();
		}
	});
});
