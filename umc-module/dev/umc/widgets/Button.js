// SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
// SPDX-License-Identifier: AGPL-3.0-only
// Stand-in for "umc/widgets/Button" (UCS 5.x): a dijit button whose callback runs on click;
// defaultButton makes it the primary button, visible=false hides it.
/*global define*/
define([
	"dojo/_base/declare",
	"dojo/dom-class",
	"dijit/form/Button"
], function(declare, domClass, DijitButton) {
	return declare("umc.widgets.Button", [DijitButton], {
		callback: null,
		defaultButton: false,
		description: '',
		visible: true,

		postCreate: function() {
			this.inherited(arguments);
			domClass.add(this.domNode, this.defaultButton ? 'ucsPrimaryButton' : 'ucsNormalButton');
			if (this.description) {
				this.set('title', this.description);
			}
		},

		_setVisibleAttr: function(visible) {
			this._set('visible', visible);
			domClass.toggle(this.domNode, 'dijitDisplayNone', !visible);
		},

		onClick: function(evt) {
			if (typeof this.callback === 'function') {
				this.callback(evt);
			}
		}
	});
});
