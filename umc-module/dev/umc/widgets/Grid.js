// SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
// SPDX-License-Identifier: AGPL-3.0-only
// Stand-in for "umc/widgets/Grid" (management/univention-web/js/widgets/Grid.js, UCS 5.x):
// a dgrid OnDemandGrid with a checkbox selector over a dstore Memory that filter(query)
// fills from moduleStore.query(query) (a dojo/store, e.g. Observable(Memory), re-filtered
// when it changes). columns: [{name, label, width, formatter(value, item)}] (a formatter's
// string is HTML, or it returns a widget); the defaultAction (an action name) runs when the
// first column's value is clicked. actions: {name, label, isContextAction (default true:
// needs a selection), isMultiAction, canExecute(item), enablingMode 'all'|'some',
// callback(ids, items)}; global actions get callback(selectedIDs, selectedItems).
// sortIndex is 1-based, negative for descending.
// As the original: the header holds the global toolbar (umcGrid__toolbar) and, beside the
// status message, the context toolbar (umcGrid__contextActionsToolbar), shown only while
// rows are selected; a filter replaces the rows and dgrid's refresh clears the selection
// (deselectOnRefresh): nothing is selected again, so what an action acts on is what is
// checked on screen; a sort keeps the selection; getSelectedIDs() is dgrid's selection.
// Left out: the "more" menu (every action gets a button), context menus, views, icons,
// disabled items.
/*global define, window*/
define([
	"dojo/_base/declare",
	"dojo/_base/lang",
	"dojo/_base/array",
	"dojo/when",
	"dojo/on",
	"dojo/aspect",
	"dojo/dom-construct",
	"dojo/dom-class",
	"dgrid/OnDemandGrid",
	"dgrid/Selection",
	"dgrid/Selector",
	"dgrid/extensions/DijitRegistry",
	"dstore/Memory",
	"umc/widgets/ContainerWidget",
	"umc/widgets/StandbyMixin",
	"umc/widgets/Button",
	"umc/widgets/Text",
	"umc/i18n!"
], function(declare, lang, array, when, on, aspect, domConstruct, domClass, OnDemandGrid, Selection, Selector,
		DijitRegistry, Memory, ContainerWidget, StandbyMixin, Button, Text, _) {
	var _Grid = declare([OnDemandGrid, Selection, Selector, DijitRegistry], {
		getSelectedIDs: function() {
			return array.filter(Object.keys(this.selection), function(id) {
				return this.selection[id];
			}, this);
		},

		_setSort: function() {
			var selectedIDs = this.getSelectedIDs();
			this.inherited(arguments);
			array.forEach(selectedIDs, function(id) {
				this.select(id);
			}, this);
		}
	});

	return declare("umc.widgets.Grid", [ContainerWidget, StandbyMixin], {
		baseClass: 'umcGrid',
		actions: null,
		columns: null,
		query: null,
		moduleStore: null,
		footerFormatter: null,
		sortIndex: 1,
		defaultAction: 'edit',
		defaultActionColumn: '',
		gridOptions: null,

		postMixInProperties: function() {
			this.inherited(arguments);
			this.actions = this.actions || [];
			this.collection = new Memory({idProperty: this.moduleStore.idProperty});
			var results = this.moduleStore.query();
			if (results.observe) {
				results.observe(lang.hitch(this, function() {
					this.filter(this.query);
				}));
			}
		},

		buildRendering: function() {
			this.inherited(arguments);
			this._header = new ContainerWidget({baseClass: 'umcGridHeader'});
			this._toolbar = new ContainerWidget({baseClass: 'umcGrid__toolbar'});
			this._contextWrapper = new ContainerWidget({'class': 'umcGrid__contextWrapper'});
			this._contextToolbar = new ContainerWidget({baseClass: 'umcGrid__contextActionsToolbar', 'class': 'dijitDisplayNone'});
			this._statusMessage = new Text({'class': 'umcGridStatus', content: ''});
			this._contextWrapper.addChild(this._contextToolbar);
			this._contextWrapper.addChild(this._statusMessage);
			this._header.addChild(this._toolbar);
			this._header.addChild(this._contextWrapper);
			this.addChild(this._header);
			this._grid = new _Grid(lang.mixin({
				collection: this.collection,
				bufferRows: 0,
				selectionMode: 'extended',
				allowSelectAll: true
			}, this.gridOptions || {}));
			this._setActions();
			this._setColumns();
			this.addChild(this._grid);
			this._grid.on('dgrid-select,dgrid-deselect', lang.hitch(this, '_selectionChanged'));
			// a row no longer in the DOM fires no dgrid-deselect when the selection is cleared
			aspect.after(this._grid, 'clearSelection', lang.hitch(this, '_selectionChanged'));
			if (typeof this.sortIndex === 'number' && this.sortIndex !== 0) {
				var column = this.columns[Math.abs(this.sortIndex) - 1];
				this._grid.set('sort', [{property: column.name, descending: this.sortIndex < 0}]);
			}
			if (this.query) {
				this.filter(this.query);
			}
		},

		startup: function() {
			this.inherited(arguments);
			this._grid.startup();
			// As the original (_RegisterOnShowMixin): dgrid measures its columns again when
			// the page holding the grid is shown (a hidden page measures 0) and on resize.
			var resize = lang.hitch(this._grid, 'resize');
			for (var widget = this.getParent(); widget; widget = widget.getParent()) {
				if (widget._showChild) {  // a StackContainer showing one page at a time
					this.own(aspect.after(widget, '_showChild', resize));
				}
			}
			this.own(on(window, 'resize', resize));
			resize();
		},

		_action: function(name) {
			var found = null;
			array.forEach(this.actions, function(action) {
				if (action.name === name) {
					found = action;
				}
			});
			return found;
		},

		_setColumns: function() {
			var defaultAction = this._action(this.defaultAction);
			var columns = array.map(this.columns, function(icol, index) {
				if (icol.name === undefined || icol.label === undefined) {
					throw new Error("The definition of grid columns requires the properties 'name' and 'label'.");
				}
				var col = lang.mixin({}, icol, {field: icol.name});
				delete col.formatter;
				var isDefaultColumn = this.defaultActionColumn ? icol.name === this.defaultActionColumn : index === 0;
				col.renderCell = lang.hitch(this, function(item, value) {
					var content = icol.formatter ? icol.formatter(value, item) : value;
					var node;
					if (content && content.domNode) {
						this.own(content);
						node = content.domNode;
					} else {
						node = domConstruct.create('div', {
							innerHTML: content === null || content === undefined ? '' : String(content)
						});
					}
					if (isDefaultColumn && defaultAction && defaultAction.callback &&
							(!defaultAction.canExecute || defaultAction.canExecute(item))) {
						domClass.add(node, 'umcGridDefaultAction');
						on(node, 'click', lang.hitch(this, function(evt) {
							evt.stopPropagation();
							var id = item[this.moduleStore.idProperty];
							defaultAction.callback([id], [item]);
						}));
					}
					return node;
				});
				return col;
			}, this);
			columns.unshift({selector: 'checkbox', label: 'Selector', width: '30px'});
			this._grid.set('columns', columns);
			array.forEach(columns, function(column, id) {
				if (column.width) {
					this._grid.styleColumn(String(id), 'width: ' + column.width);
				}
			}, this);
		},

		_setActions: function() {
			array.forEach(this.actions, function(action) {
				var button = new Button({
					label: typeof action.label === 'function' ? action.label() : action.label,
					name: action.name,
					'class': 'umcGridAction umcGridAction-' + action.name,
					callback: lang.hitch(this, function() {
						var ids = this.getSelectedIDs();
						var items = this.getSelectedItems();
						if (action.isContextAction !== false && action.enablingMode === 'some') {
							items = array.filter(items, function(item) {
								return typeof action.canExecute === 'function' ? action.canExecute(item) : true;
							});
							ids = array.map(items, function(item) {
								return item[this.moduleStore.idProperty];
							}, this);
						}
						action.callback(ids, items);
					})
				});
				button._action = action;
				if (action.isContextAction === false) {
					this._toolbar.addChild(button);
				} else {
					this._contextToolbar.addChild(button);
				}
			}, this);
			this._updateContextActions();
		},

		_selectionChanged: function() {
			this._updateContextActions();
			this._updateFooterContent();
		},

		_updateContextActions: function() {
			var items = this.getSelectedItems();
			array.forEach(this._contextToolbar.getChildren(), function(button) {
				var action = button._action;
				var enabled = items.length !== 0 && (items.length === 1 || action.isMultiAction);
				var check = action.enablingMode === 'some' ? array.some : array.every;
				enabled = enabled && check(items, function(item) {
					return action.canExecute ? action.canExecute(item) : true;
				});
				button.set('disabled', !enabled);
			});
			domClass.toggle(this._contextToolbar.domNode, 'dijitDisplayNone', items.length === 0);
		},

		_updateGlobalCanExecute: function() {
			var items = this.getAllItems();
			array.forEach(this._toolbar.getChildren(), function(button) {
				if (button._action.canExecute) {
					button.set('disabled', !button._action.canExecute(items));
				}
			});
		},

		_updateFooterContent: function() {
			var nItems = this.getSelectedIDs().length;
			var nTotal = this.collection.fetchSync().length;
			var msg;
			if (typeof this.footerFormatter === 'function') {
				msg = this.footerFormatter(nItems, nTotal);
			} else if (nTotal === 0) {
				msg = _('No entries could be found');
			} else if (nItems === 1) {
				msg = _('1 entry of %d selected', nTotal);
			} else {
				msg = _('%(num)d entries of %(total)d selected', {num: nItems, total: nTotal});
			}
			this._statusMessage.set('content', msg);
		},

		filter: function(query) {
			this.standby(true);
			return this._filter(query).then(lang.hitch(this, 'standby', false), lang.hitch(this, 'standby', false));
		},

		_filter: function(query) {
			this.query = query;
			return when(this.moduleStore.query(query || {})).then(lang.hitch(this, function(result) {
				this.collection.setData(array.map(result, function(item) {
					return lang.mixin({}, item);
				}));
				this._grid.refresh();
				this._grid.resize();
				this._updateContextActions();
				this._updateFooterContent();
				this._updateGlobalCanExecute();
				this.onFilterDone(true);
			}), lang.hitch(this, function() {
				this._statusMessage.set('content', _('Could not load search results'));
				this.collection.setData([]);
				this._grid.refresh();
				this.onFilterDone(false);
			}));
		},

		update: function(force) {
			// unlike filter(), the original's update() selects the rows again
			if (this.getSelectedIDs().length === 0 || force) {
				var selectedIDs = this.getSelectedIDs();
				this._filter(this.query).then(lang.hitch(this, function() {
					array.forEach(selectedIDs, function(id) {
						this._grid.select(id);
					}, this);
				}));
				return true;
			}
			return false;
		},

		getSelectedIDs: function() {
			return this._grid.getSelectedIDs();
		},

		getSelectedItems: function() {
			return array.filter(array.map(this.getSelectedIDs(), function(id) {
				return this.collection.getSync(id);
			}, this), function(item) {
				return item;
			});
		},

		getAllItems: function() {
			return this.collection.fetchSync();
		},

		getItem: function(id) {
			return this.collection.getSync(id) || null;
		},

		onFilterDone: function() {
			// event stub
		}
	});
});
