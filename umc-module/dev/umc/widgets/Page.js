// SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
// SPDX-License-Identifier: AGPL-3.0-only
// Stand-in for "umc/widgets/Page" (management/univention-web/js/widgets/Page.js, UCS 5.x).
// As the original: three containers, umcPageNav (hidden until it has a child), umcPageMain
// and umcPageFooter; children go by region: 'nav' ('top', 'left'), 'main' (default,
// 'center', 'right') or 'footer' ('bottom'). headerText (escaped, in an <h1>) and helpText
// (HTML) are Text widgets in the *nav* region, the header first, the help below it. At
// startup (and on every later addChild) a page with a nav child puts nav and main side by
// side in Bootstrap columns, nav 'col-md-4' (a third) and main 'col-md-8', unless fullWidth
// (both 'col-md-12', nav above main); a page without nav or with fullWidth gets the class
// 'umcPage--fullWidth'. footerButtons are left out (no module here uses them).
/*global define*/
define([
	"dojo/_base/declare",
	"dojo/dom-class",
	"dojox/html/entities",
	"umc/widgets/Text",
	"umc/widgets/ContainerWidget"
], function(declare, domClass, entities, Text, ContainerWidget) {
	return declare("umc.widgets.Page", [ContainerWidget], {
		baseClass: 'umcPage',
		helpText: '',
		helpTextRegion: 'nav',
		helpTextAllowHTML: true,
		headerText: null,
		headerTextRegion: 'nav',
		headerTextAllowHTML: false,
		title: '',
		noFooter: false,
		fullWidth: false,
		navBootstrapClasses: 'col-xs-12 col-sm-12 col-md-4 col-lg-4',
		mainBootstrapClasses: 'col-xs-12 col-sm-12 col-md-8 col-lg-8',
		_initialBootstrapClasses: 'col-xs-12 col-sm-12 col-md-12 col-lg-12',

		_nav: null,
		_main: null,
		_footer: null,
		_helpTextPane: null,
		_headerTextPane: null,

		postMixInProperties: function() {
			this.inherited(arguments);
			if (this.fullWidth) {
				this.navBootstrapClasses = this._initialBootstrapClasses;
				this.mainBootstrapClasses = this._initialBootstrapClasses;
			}
		},

		buildRendering: function() {
			this.inherited(arguments);
			this._nav = new ContainerWidget({baseClass: 'umcPageNav', 'class': 'dijitDisplayNone'});
			this._main = new ContainerWidget({baseClass: 'umcPageMain', 'class': this._initialBootstrapClasses});
			this._footer = new ContainerWidget({region: 'footer', baseClass: 'umcPageFooter', 'class': this._initialBootstrapClasses});
			ContainerWidget.prototype.addChild.apply(this, [this._nav]);
			ContainerWidget.prototype.addChild.apply(this, [this._main]);
			ContainerWidget.prototype.addChild.apply(this, [this._footer]);
			if (this.headerText) {
				this.set('headerText', this.headerText);
			}
			if (this.helpText) {
				this.set('helpText', this.helpText);
			}
		},

		_setHelpTextAttr: function(newVal) {
			if (!newVal && !this._helpTextPane) {
				return;
			}
			if (!this._helpTextPane) {
				this._helpTextPane = new Text({region: this.helpTextRegion, baseClass: 'umcPageHelpText'});
				try {
					this.addChild(this._helpTextPane, 1);  // underneath the header, if there is one
				} catch (error) {
					this.addChild(this._helpTextPane);
				}
			}
			domClass.toggle(this._helpTextPane.domNode, 'dijitDisplayNone', !newVal);
			this._helpTextPane.set('content', this.helpTextAllowHTML ? newVal : entities.encode(newVal));
			this._set('helpText', newVal);
		},

		_setHeaderTextAttr: function(newVal) {
			if (!newVal && !this._headerTextPane) {
				return;
			}
			if (!this._headerTextPane) {
				this._headerTextPane = new Text({region: this.headerTextRegion, baseClass: 'umcPageHeader'});
				this.addChild(this._headerTextPane, 0);
			}
			domClass.toggle(this._headerTextPane.domNode, 'dijitDisplayNone', !newVal);
			this._headerTextPane.set('content', '<h1>' + (this.headerTextAllowHTML ? newVal : entities.encode(newVal)) + '</h1>');
			this._set('headerText', newVal);
		},

		addChild: function(widget) {
			if (!widget.region || widget.region === 'center' || widget.region === 'right') {
				widget.region = 'main';
			} else if (widget.region === 'top' || widget.region === 'left') {
				widget.region = 'nav';
			} else if (widget.region === 'bottom') {
				widget.region = 'footer';
			}
			var container = widget.region === 'nav' ? this._nav : (widget.region === 'footer' ? this._footer : this._main);
			container.addChild.apply(container, arguments);
			if (this._started) {
				this._adjustSizes();
			}
		},

		_adjustSizes: function() {
			domClass.remove(this._nav.domNode);
			domClass.remove(this._main.domNode);
			domClass.add(this._nav.domNode, this._nav['class'] + ' ' + this._nav.baseClass);
			domClass.add(this._main.domNode, this._main['class'] + ' ' + this._main.baseClass);
			var hasNav = this._nav.getChildren().length;
			if (hasNav) {
				domClass.toggle(this._nav.domNode, 'dijitDisplayNone', false);
				domClass.remove(this._nav.domNode, this._initialBootstrapClasses);
				domClass.add(this._nav.domNode, this.navBootstrapClasses);
				domClass.remove(this._main.domNode, this._initialBootstrapClasses);
				domClass.add(this._main.domNode, this.mainBootstrapClasses);
			}
			if (!hasNav || this.fullWidth) {
				domClass.add(this.domNode, this.baseClass + '--fullWidth');
			}
		},

		startup: function() {
			this.inherited(arguments);
			this._adjustSizes();
		}
	});
});
