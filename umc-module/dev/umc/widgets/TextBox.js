// SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
// SPDX-License-Identifier: AGPL-3.0-only
// Stand-in for "umc/widgets/TextBox" (UCS 5.x): a dijit ValidationTextBox; inlineLabel is
// shown inside the empty box; visible=false hides it.
/*global define*/
define([
	"dojo/_base/declare",
	"dojo/dom-class",
	"dijit/form/ValidationTextBox"
], function(declare, domClass, ValidationTextBox) {
	return declare("umc.widgets.TextBox", [ValidationTextBox], {
		inlineLabel: null,
		sizeClass: 'One',
		visible: true,

		postCreate: function() {
			this.inherited(arguments);
			if (this.inlineLabel) {
				this.set('placeHolder', this.inlineLabel);
			}
		},

		_setVisibleAttr: function(visible) {
			this._set('visible', visible);
			domClass.toggle(this.domNode, 'dijitDisplayNone', !visible);
		}
	});
});
